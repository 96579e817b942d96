"""`cai export`: every format to Parquet and to a datasets folder, read back with `datasets`; splits; bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.errors import InputError
from cai.export import schema, write
from cai.export.run import ExportJob, run_export
from cai.export.split import in_test_split
from cai.judge.pairwise import JudgeSettings
from cai.revise.run import ReviseJob, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine

runner = CliRunner()
# 12 prompts, four of them asked twice (another id, so another row): 16 rows
ROWS = [{"id": f"r{i}", "prompt": f"question number {i % 12}"} for i in range(16)]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def revised(tmp_path: Path, model_dir: Path, output_format: str = "trl", judge: JudgeSettings | None = None) -> Path:
    source = tmp_path / "in.jsonl"
    write_lines(source, [json.dumps(row) for row in ROWS])
    out = tmp_path / f"{output_format}.jsonl"
    options = {"output_format": output_format, "judge": judge}
    job = ReviseJob.of(prompts=str(source), output=str(out), model=str(model_dir), **options)
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


def mixed_rows(tmp_path: Path, model_dir: Path) -> list[dict[str, Any]]:
    """cai's optional fields as they vary within a file: `judge` only from the 9th row on, an id that is null
    first, a round without `critique_finish_reason`, a margin written as an int once."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "judged").mkdir()
    plain = revised(tmp_path / "plain", model_dir).read_text().splitlines()
    judged = revised(tmp_path / "judged", model_dir, judge=JudgeSettings(principles=2)).read_text().splitlines()
    rows = [json.loads(line) for line in plain[:8] + judged[8:]]
    assert "judge" not in rows[0]["cai"] and "judge" in rows[-1]["cai"]
    rows[0]["cai"]["id"] = None
    del rows[3]["cai"]["rounds"][0]["critique_finish_reason"]
    rows[9]["cai"]["judge"]["margin"] = 0
    return rows


def test_a_row_at_a_time_gives_the_schema_and_rows_of_one_table(
    tmp_path: Path, fake_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row its own batch, schema-wise and for writing: the export equals one table of all rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset, load_from_disk

    rows = mixed_rows(tmp_path, fake_model_dir)
    source = write_lines(tmp_path / "mixed.jsonl", [json.dumps(row) for row in rows])
    monkeypatch.setattr(schema, "BATCH_BYTES", 1)
    monkeypatch.setattr(write, "BATCH_BYTES", 1)
    monkeypatch.setattr(write, "ROW_GROUP_BYTES", 1)
    assert invoke("export", str(source), str(tmp_path / "pq")).exit_code == 0
    whole = pa.Table.from_pylist(rows)
    exported = pq.ParquetFile(tmp_path / "pq" / "train.parquet")
    assert exported.num_row_groups == len(rows)  # the batches were exercised
    assert exported.schema_arrow == whole.schema
    assert exported.read().equals(whole)

    monkeypatch.setattr("datasets.config.MAX_SHARD_SIZE", 1)  # a shard per row
    assert (
        invoke("export", str(source), str(tmp_path / "ds"), "--to", "hf-dataset", "--test-size", "0.25").exit_code == 0
    )
    assert len(list((tmp_path / "ds" / "train").glob("data-*-of-00012.arrow"))) == 12
    loaded = load_from_disk(str(tmp_path / "ds"))
    assert loaded["train"].features == loaded["test"].features == Dataset(whole).features
    by_key = {row["cai"]["key"]: index for index, row in enumerate(rows)}
    for split in loaded.values():
        indices = [by_key[key] for key in keys(split)]
        assert indices == sorted(indices)  # file order kept within a split
        assert split.data.table.equals(whole.take(indices).replace_schema_metadata(split.data.table.schema.metadata))


def test_the_hf_dataset_folder_holds_what_save_to_disk_writes(tmp_path: Path, fake_model_dir: Path) -> None:
    import pyarrow as pa
    from datasets import Dataset, DatasetDict

    rows = mixed_rows(tmp_path, fake_model_dir)
    source = write_lines(tmp_path / "mixed.jsonl", [json.dumps(row) for row in rows])
    assert invoke("export", str(source), str(tmp_path / "ours"), "--to", "hf-dataset").exit_code == 0
    DatasetDict({"train": Dataset(pa.Table.from_pylist(rows))}).save_to_disk(str(tmp_path / "theirs"))

    def files(folder: Path) -> dict[str, bytes]:
        return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}

    ours, theirs = files(tmp_path / "ours"), files(tmp_path / "theirs")
    assert sorted(ours) == sorted([*theirs, ".cai-export.json"])
    for name in ("dataset_dict.json", "train/dataset_info.json"):
        assert ours[name] == theirs[name]
    state, their_state = json.loads(ours["train/state.json"]), json.loads(theirs["train/state.json"])
    assert state.pop("_fingerprint") != their_state.pop("_fingerprint")  # random in both
    assert state == their_state
    shard = "train/data-00000-of-00001.arrow"
    ours_table, their_table = (pa.ipc.open_stream(data[shard]).read_all() for data in (ours, theirs))
    assert ours_table.schema.metadata == their_table.schema.metadata
    assert ours_table.equals(their_table)


def test_the_split_sorts_the_prompts_shuffles_them_and_takes_whole_groups(tmp_path: Path) -> None:
    """The documented rule, written out plainly, against the hashed and numpy-sorted version."""
    import hashlib
    import random
    from collections import Counter

    def reference(groups: list[str], test_size: float, seed: int) -> list[int]:
        counts = Counter(groups)
        wanted = max(1, round(test_size * len(groups) if test_size < 1 else test_size))
        order = sorted(counts)
        random.Random(seed).shuffle(order)
        test: set[str] = set()
        for group in order:
            if sum(counts[g] for g in test) >= wanted:
                break
            test.add(group)
        return [int(group in test) for group in groups]

    draw = random.Random(7)
    for rows, prompts, test_size, seed in ((50, 40, 0.2, 0), (300, 60, 0.1, 3), (1000, 999, 25, 11), (9, 2, 1, 5)):
        names = [f"prompt {draw.randrange(prompts)}" for _ in range(rows)]
        hashes = [hashlib.sha256(name.encode()).digest() for name in names]
        groups = [digest.hex() for digest in hashes]
        mask = in_test_split(b"".join(hashes), test_size, seed)
        assert list(mask) == reference(groups, test_size, seed)
        assert 0 < sum(mask) < rows


def test_a_run_appending_rows_meanwhile_exports_the_rows_checked(tmp_path: Path, fake_model_dir: Path) -> None:
    import hashlib

    import pyarrow.parquet as pq

    out = revised(tmp_path, fake_model_dir)
    checked = out.read_bytes()

    def note(message: str) -> None:  # between the passes: the run appends a row
        if message.startswith("writing"):
            with out.open("a") as handle:
                handle.write(out.read_text().splitlines()[0] + "\n")

    result = run_export(ExportJob(out, tmp_path / "x", "parquet"), lambda total: lambda size: None, note)
    assert result.rows == len(ROWS) and pq.read_metadata(tmp_path / "x" / "train.parquet").num_rows == len(ROWS)
    assert len(out.read_text().splitlines()) == len(ROWS) + 1
    record = json.loads((tmp_path / "x" / ".cai-export.json").read_text())
    assert record["source_sha256"] == hashlib.sha256(checked).hexdigest()


def test_a_file_rewritten_between_the_passes_stops_the_export(tmp_path: Path, fake_model_dir: Path) -> None:
    out = revised(tmp_path, fake_model_dir)
    lines = out.read_text().splitlines()

    def note(message: str) -> None:  # between the passes: rows swapped (same bytes, other order)
        if message.startswith("writing"):
            write_lines(out, [lines[1], lines[0], *lines[2:]])

    for to in ("parquet", "hf-dataset"):
        with pytest.raises(InputError, match="changed while it was exported"):
            run_export(ExportJob(out, tmp_path / "x", to, 0.25), lambda total: lambda size: None, note)
        assert not (tmp_path / "x").exists()
        assert not [path for path in tmp_path.iterdir() if path.name.startswith(".x")]  # no staging left
        write_lines(out, lines)
