"""`cai export`: every format to Parquet and to a datasets folder, read back with `datasets`; splits; bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.revise.run import ReviseJob, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine

runner = CliRunner()
# 12 prompts, four of them asked twice (another id, so another row): 16 rows
ROWS = [{"id": f"r{i}", "prompt": f"question number {i % 12}"} for i in range(16)]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def revised(tmp_path: Path, model_dir: Path, output_format: str = "trl") -> Path:
    source = tmp_path / "in.jsonl"
    write_lines(source, [json.dumps(row) for row in ROWS])
    out = tmp_path / f"{output_format}.jsonl"
    job = ReviseJob.of(prompts=str(source), output=str(out), model=str(model_dir), output_format=output_format)
    run_revise(on_engine(job, lambda *_: ScriptedEngine()), RecordingProgress())
    return out


def keys(split: Any) -> list[str]:
    return [row["cai"]["key"] for row in split]


def prompt_of(row: dict[str, Any]) -> str:
    return str(row["prompt"])


@pytest.mark.parametrize("output_format", ["trl", "sft", "hf-cai"])
def test_parquet_export_loads_with_load_dataset(tmp_path: Path, fake_model_dir: Path, output_format: str) -> None:
    from datasets import load_dataset

    out = revised(tmp_path, fake_model_dir, output_format)
    source = [json.loads(line) for line in out.read_text().splitlines()]
    target = tmp_path / "export"
    result = invoke("export", str(out), "--to", "parquet", str(target), "--test-size", "0.25")
    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in target.iterdir()) == [".cai-export.json", "test.parquet", "train.parquet"]
    loaded = load_dataset(str(target), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].column_names == list(source[0])
    assert sorted(keys(loaded["train"]) + keys(loaded["test"])) == sorted(row["cai"]["key"] for row in source)
    assert len(loaded["test"]) == 4  # a quarter of 16
    by_key = {row["cai"]["key"]: row for row in source}
    for row in loaded["test"]:
        original = by_key[row["cai"]["key"]]
        conversation = "messages" if output_format != "trl" else "prompt"
        assert row[conversation] == original[conversation]
        assert row["cai"]["rounds"][0]["revision"] == original["cai"]["rounds"][0]["revision"]
    assert "train 12, test 4" in result.stderr


def test_split_is_deterministic_and_keeps_each_prompt_on_one_side(tmp_path: Path, fake_model_dir: Path) -> None:
    from datasets import load_from_disk

    out = revised(tmp_path, fake_model_dir)
    splits = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        result = invoke(
            "export", str(out), str(tmp_path / name), "--to", "hf-dataset", "--test-size", "0.3", "--seed", seed
        )
        assert result.exit_code == 0, result.stderr
        loaded = load_from_disk(str(tmp_path / name))
        splits.append((keys(loaded["train"]), keys(loaded["test"])))
        train_prompts = {prompt_of(row) for row in loaded["train"]}
        assert not train_prompts & {prompt_of(row) for row in loaded["test"]}
        assert len(loaded["train"]) + len(loaded["test"]) == len(ROWS)
    assert splits[0] == splits[1]
    assert splits[0] != splits[2]
    repeated = [row for row in ROWS if sum(r["prompt"] == row["prompt"] for r in ROWS) > 1]
    assert repeated  # the file does hold prompts asked twice, so grouping was exercised


def test_hf_dataset_without_split_and_provenance_options(tmp_path: Path, fake_model_dir: Path) -> None:
    from datasets import load_from_disk

    out = revised(tmp_path, fake_model_dir, "sft")
    assert invoke("export", str(out), str(tmp_path / "plain"), "--to", "hf-dataset", "-q").exit_code == 0
    plain = load_from_disk(str(tmp_path / "plain"))
    assert list(plain) == ["train"] and len(plain["train"]) == len(ROWS)
    assert plain["train"].column_names == ["messages", "cai"]

    assert invoke("export", str(out), str(tmp_path / "bare"), "--drop-provenance").exit_code == 0
    assert invoke("export", str(out), str(tmp_path / "json"), "--provenance-json").exit_code == 0
    from datasets import load_dataset

    bare = load_dataset(str(tmp_path / "bare"), cache_dir=str(tmp_path / "cache"))["train"]
    assert bare.column_names == ["messages"]
    flat = load_dataset(str(tmp_path / "json"), cache_dir=str(tmp_path / "cache"))["train"]
    first = json.loads(out.read_text().splitlines()[0])
    assert json.loads(flat[0]["cai"]) == first["cai"]
    record = json.loads((tmp_path / "json" / ".cai-export.json").read_text())
    assert record["format"] == "sft" and record["splits"] == {"train": len(ROWS)} and record["provenance"] == "json"


def test_bad_lines_stop_the_export_and_are_named(tmp_path: Path, fake_model_dir: Path) -> None:
    out = revised(tmp_path, fake_model_dir)
    good = out.read_text().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    write_lines(mixed, [good[0], good[1], "{not json", good[3], "[1, 2]", json.dumps({"messages": [], "cai": {}})])
    result = invoke("export", str(mixed), str(tmp_path / "x"))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "3 line(s)" in message and "nothing was exported" in message
    assert "mixed.jsonl:3: not valid JSON" in message
    assert "mixed.jsonl:5: expected a JSON object" in message
    assert "mixed.jsonl:6: columns ['cai', 'messages'] differ" in message
    assert not (tmp_path / "x").exists()

    torn = tmp_path / "torn.jsonl"
    torn.write_text(good[0] + "\n" + good[1][:30])
    result = invoke("export", str(torn), str(tmp_path / "x"))
    assert result.exit_code == 2 and "torn.jsonl:2: no newline" in " ".join(result.stderr.split())

    prompts = write_lines(tmp_path / "prompts.jsonl", ['{"prompt": "hi"}'])
    result = invoke("export", str(prompts), str(tmp_path / "x"))
    assert result.exit_code == 2 and "not a cai revise output" in result.stderr


def test_an_existing_folder_needs_force_and_a_foreign_one_is_never_deleted(
    tmp_path: Path, fake_model_dir: Path
) -> None:
    out = revised(tmp_path, fake_model_dir)
    target = tmp_path / "export"
    assert invoke("export", str(out), str(target)).exit_code == 0
    result = invoke("export", str(out), str(target), "--test-size", "2")
    assert result.exit_code == 2 and "pass --force" in result.stderr
    result = invoke("export", str(out), str(target), "--test-size", "2", "--force")
    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in target.glob("*.parquet")) == ["test.parquet", "train.parquet"]

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = invoke("export", str(out), str(foreign), "--force")
    assert result.exit_code == 2 and "not a cai export" in " ".join(result.stderr.split())
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".export")]  # no staging left


def test_usage_errors(tmp_path: Path, fake_model_dir: Path) -> None:
    out = revised(tmp_path, fake_model_dir)
    assert invoke("export", str(out), str(tmp_path / "x"), "--to", "csv").exit_code == 2
    assert invoke("export", str(out), str(tmp_path / "x"), "--drop-provenance", "--provenance-json").exit_code == 2
    assert invoke("export", str(out), str(tmp_path / "x"), "--test-size", "16").exit_code == 2
    assert invoke("revise", str(out), "--format", "csv").exit_code == 2


def test_the_folder_gets_ordinary_permissions(tmp_path: Path, fake_model_dir: Path) -> None:
    import os

    out = revised(tmp_path, fake_model_dir)
    mask = os.umask(0o022)
    try:
        assert invoke("export", str(out), str(tmp_path / "shared")).exit_code == 0
    finally:
        os.umask(mask)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o755


def test_registering_export_imports_neither_pyarrow_nor_datasets() -> None:
    import subprocess
    import sys

    code = "import sys, cai.app; print(sorted({'pyarrow', 'datasets', 'pandas'} & set(sys.modules)))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
