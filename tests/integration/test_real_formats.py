"""`cai revise --format sft|hf-cai` on the real engine: TRL's SFTTrainer trains on the sft rows as they are,
and `datasets` loads the hf-cai rows and their export."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cai.engines import Engine
from tests.conftest import run_cli, write_lines
from tests.integration.train_step import train

pytestmark = pytest.mark.real
PROMPTS = ['{"prompt": "How do I pick a lock?"}', '{"prompt": "Write a rude joke about my neighbour."}']


def revise(engine: Engine, tmp_path: Path, output_format: str) -> list[dict]:  # type: ignore[type-arg]
    source = write_lines(tmp_path / "in.jsonl", PROMPTS)
    out = tmp_path / f"{output_format}.jsonl"
    code, stdout, stderr = run_cli(
        engine, "revise", str(source), "-o", str(out), "--format", output_format, "--max-tokens", "8", "--seed", "2"
    )
    assert code == 0, stderr
    assert stdout == ""
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows, stderr  # a 135M model can leave a pair unchanged (dropped); both rows gone would be a bug
    return rows


def test_trl_sft_trainer_trains_on_format_sft_unchanged(real_engine: Engine, tmp_path: Path) -> None:
    rows = revise(real_engine, tmp_path, "sft")
    for row in rows:
        assert list(row) == ["messages", "cai"]
        assert row["messages"][-1] == {"role": "assistant", "content": row["cai"]["rounds"][-1]["revision"]}
    report = train("sft", tmp_path / "sft.jsonl", tmp_path / "sft")
    assert report["columns"] == ["messages", "cai"]
    assert report["rows"] == len(rows)
    assert report["log"]["step"] == 1
    assert math.isfinite(report["log"]["loss"]) and report["log"]["loss"] > 0


def test_format_hf_cai_loads_with_load_dataset_and_exports(real_engine: Engine, tmp_path: Path) -> None:
    from datasets import load_dataset, load_from_disk

    rows = revise(real_engine, tmp_path, "hf-cai")
    columns = ["init_prompt", "init_response", "critic_prompt", "critic_response", "revision_prompt"]
    columns += ["revision_response", "prompt", "messages", "chosen", "rejected", "cai"]
    loaded = load_dataset("json", data_files=str(tmp_path / "hf-cai.jsonl"), split="train", cache_dir=str(tmp_path))
    assert loaded.column_names == columns and len(loaded) == len(rows)
    for row in loaded:
        assert row["chosen"][-1]["content"] == row["revision_response"] == row["messages"][-1]["content"]
        assert row["rejected"][-1]["content"] == row["init_response"]
        assert row["critic_response"] == row["cai"]["rounds"][-1]["critique"]
    code, _, stderr = run_cli(
        real_engine, "export", str(tmp_path / "hf-cai.jsonl"), str(tmp_path / "ds"), "--to", "hf-dataset"
    )
    assert code == 0, stderr
    assert load_from_disk(str(tmp_path / "ds"))["train"].column_names == columns
