"""One TRL training step (DPO, SFT or a reward model) on a cai output file, run in its own process (away from vLLM).

Usage: python train_step.py MODEL_FOLDER (dpo|sft|reward ROWS.jsonl OUTPUT_DIR)...; prints each step's log as a
JSON line. Tests call `train` (or `train_steps`, several steps for one process's imports), which runs this file
so on the embedded model and returns the logs; `child` runs any such command (examples/train_dpo.py, a `cai`
process) the same way: offline, its output captured.
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
    (report,) = train_steps([(kind, rows, output_dir)])
    return report


def train_steps(steps: list[tuple[str, Path, Path]]) -> list[dict[str, Any]]:
    """Each (kind, rows, output folder) step in turn in one child process (torch and TRL imported once)."""
    from cai.engines import model

    result = child(__file__, str(model.locate().folder), *[str(part) for step in steps for part in step])
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"columns"')]
    assert len(reports) == len(steps), result.stdout[-3000:]
    return reports


def child(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a child process of this interpreter, offline (a script path, or "-m", "cai", ...)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)


def trainer_classes(kind: str) -> tuple[type, type]:
    """DPOTrainer and RewardTrainer read TRL preference rows (revise --format trl, score's ranked and pair rows),
    SFTTrainer reads messages (--format sft)."""
    if kind == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        return DPOConfig, DPOTrainer
    if kind == "reward":
        from trl.trainer.reward_config import RewardConfig
        from trl.trainer.reward_trainer import RewardTrainer

        return RewardConfig, RewardTrainer
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    return SFTConfig, SFTTrainer


def main(kind: str, rows: str, folder: str, output_dir: str) -> None:
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    config_class, trainer_class = trainer_classes(kind)
    dataset = load_dataset("json", data_files=rows, split="train")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if kind == "reward":  # the language model with a one-output score head: the preference model
        network = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype="float32")
    else:
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
    parts = sys.argv[2:]
    for start in range(0, len(parts), 3):
        kind, rows, output_dir = parts[start : start + 3]
        main(kind, rows, sys.argv[1], output_dir)
