"""One SFT step with TRL on a `cai revise --format sft` file, run in its own process (away from vLLM).

Usage: python sft_step.py ROWS.jsonl MODEL_FOLDER OUTPUT_DIR; prints the step's log as JSON.
"""

from __future__ import annotations

import json
import sys

from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.trainer.sft_config import SFTConfig
from trl.trainer.sft_trainer import SFTTrainer


def main(rows: str, folder: str, output_dir: str) -> None:
    dataset = load_dataset("json", data_files=rows, split="train")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    network = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    config = SFTConfig(
        output_dir=output_dir,
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=96,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
        bf16=False,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(model=network, args=config, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    print(json.dumps({"columns": dataset.column_names, "rows": len(dataset), "log": trainer.state.log_history[0]}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
