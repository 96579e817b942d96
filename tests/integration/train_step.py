"""One TRL training step (DPO or SFT) on a cai output file, run in its own process (away from vLLM).

Usage: python train_step.py dpo|sft ROWS.jsonl MODEL_FOLDER OUTPUT_DIR; prints the step's log as JSON.
Tests call `train`, which runs this file so on the embedded model and returns that log; `child` runs any
such command (examples/train_dpo.py, a `cai` process) the same way: offline, its output captured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def train(kind: str, rows: Path, output_dir: Path) -> dict[str, Any]:
    """One step in a child process: the columns and row count TRL read, and the step's log."""
    from cai.engines import model

    result = child(__file__, kind, str(rows), str(model.locate().folder), str(output_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def child(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a child process of this interpreter, offline (a script path, or "-m", "cai", ...)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)


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
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
