"""Train v2 on cai's pairs with TRL's DPOTrainer, save it as a plain Hugging Face folder, record its lineage.

    python examples/train_dpo.py PAIRS.jsonl BASE OUT_DIR [STEPS [MAX_LENGTH]]   # BASE: a folder, or "embedded"

cai does not wrap training: this is TRL as its docs show it, on the rows `cai revise` wrote (TRL's
conversational preference format, read unchanged), plus one cai call at the end that writes
OUT_DIR/cai-lineage.json — which pairs trained this model, and from which base — so `cai lineage`
can follow a model back to its data. The sizes are the smallest that run on a CPU in a minute (see
docs/loop.md); use your own for a model you mean to keep.
"""

import sys

from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

from cai import api

pairs, base, out = sys.argv[1:4]
steps, max_length = (int(sys.argv[4]) if len(sys.argv) > 4 else 4), (int(sys.argv[5]) if len(sys.argv) > 5 else 256)
folder = api.embedded_model()[0] if base == "embedded" else base
model, tokenizer = AutoModelForCausalLM.from_pretrained(folder, dtype="float32"), AutoTokenizer.from_pretrained(folder)
config = DPOConfig(
    output_dir=out, max_steps=steps, per_device_train_batch_size=2, max_length=max_length, learning_rate=5e-6,
    save_strategy="no", report_to=[], use_cpu=True, bf16=False, logging_steps=1,
)  # fmt: skip
dataset = load_dataset("json", data_files=pairs, split="train")
DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer).train()
model.save_pretrained(out)
tokenizer.save_pretrained(out)
api.record_lineage(out, trained_on=[pairs], base=folder, note=f"TRL DPOTrainer, {steps} steps (examples/train_dpo.py)")
