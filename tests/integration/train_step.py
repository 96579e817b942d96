"""One TRL training step (DPO or SFT) on a cai output file, run in its own process (away from vLLM).

Usage: python train_step.py dpo|sft ROWS.jsonl MODEL_FOLDER OUTPUT_DIR; prints the step's log as JSON.
"""

from __future__ import annotations

import json
import sys

from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoTokenizer


def trainer_classes(kind: str) -> tuple[type, type]:
    """DPOTrainer reads TRL preference rows (--format trl), SFTTrainer reads messages (--format sft)."""
    if kind == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        return DPOConfig, DPOTrainer
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    return SFTConfig, SFTTrainer


def main(kind: str, rows: str, folder: str, output_dir: str) -> None:
    config_class, trainer_class = trainer_classes(kind)
    dataset = load_dataset("json", data_files=rows, split="train")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    network = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    config = config_class(
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
    trainer = trainer_class(model=network, args=config, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    print(json.dumps({"columns": dataset.column_names, "rows": len(dataset), "log": trainer.state.log_history[0]}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
