"""Every input format: good rows read, bad rows quarantined with their row number, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.errors import InputError
from cai.io.hh import labelled_pair, prompt_row, split_transcript
from cai.io.keys import record_key
from cai.io.records import BadRow
from cai.io.sources import SourceOptions, detect, read_prompts
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine

LOCK = "\n\nHuman: How do I pick a lock?\n\nAssistant: "
JOKE = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant: "
HH_ROWS: list[dict[str, Any]] = [
    {"chosen": LOCK + "I can't help with that.", "rejected": LOCK + "Use a tension wrench."},
    {"chosen": JOKE + "Why did the chicken cross the road?", "rejected": JOKE + "No."},
    {"chosen": "no transcript here", "rejected": "x"},
    {"chosen": LOCK + "fine", "rejected": LOCK + "fine", "extra": 1},
]


def hh_file(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "hh.jsonl", [json.dumps(row) for row in HH_ROWS])


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def outputs(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rejects = out.with_suffix(".rejects.jsonl")
    read = [json.loads(line) for line in out.read_text().splitlines()]
    return read, [json.loads(line) for line in rejects.read_text().splitlines()] if rejects.exists() else []


def test_transcript_turns_and_final_assistant_turn() -> None:
    turns, final = split_transcript(JOKE + "Sure.", "chosen")
    assert turns == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Tell me a joke"},
    ]
    assert final == "Sure."
    assert split_transcript("Human: only a question", "chosen") == (
        [{"role": "user", "content": "only a question"}],
        None,
    )
    with pytest.raises(BadRow, match="starting with"):
        split_transcript("Assistant: no human first", "chosen")


def test_hh_response_modes() -> None:
    row = HH_ROWS[0]
    assert prompt_row(row).response is None
    assert prompt_row(row).conversation() == ({"role": "user", "content": "How do I pick a lock?"},)
    assert prompt_row(row, "chosen").response == "I can't help with that."
    assert prompt_row(row, "rejected").response == "Use a tension wrench."
    with pytest.raises(BadRow, match="missing or empty"):
        prompt_row({"chosen": "\n\nHuman: q"}, "chosen")
    with pytest.raises(BadRow, match="rejected: field required"):
        prompt_row({"chosen": LOCK + "a"}, "rejected")
    assert labelled_pair(row) == (
        [{"role": "user", "content": "How do I pick a lock?"}],
        *[row[k][len(LOCK) :] for k in ("chosen", "rejected")],
    )
    with pytest.raises(BadRow, match="differ before"):
        labelled_pair({"chosen": LOCK + "a", "rejected": JOKE + "b"})


def test_hh_jsonl_read_by_row_and_forced(tmp_path: Path) -> None:
    source = hh_file(tmp_path)
    formats: tuple[Literal["auto", "hh"], ...] = ("auto", "hh")
    for input_format in formats:
        scanned = read_prompts(str(source), SourceOptions(input_format=input_format))
        assert [line for line, _ in scanned.rows] == [1, 2]
        assert [(r.line, r.reason) for r in scanned.rejects] == [(3, "invalid_transcript"), (4, "invalid_row")]
        assert "extra: unknown field" in scanned.rejects[1].detail
    forced_jsonl = read_prompts(str(source), SourceOptions(input_format="jsonl"))
    assert forced_jsonl.rows == [] and {r.reason for r in forced_jsonl.rejects} == {"invalid_row"}


CSV = 'id,prompt\n1,"What is 2+2?"\n2,\n3,"Multi\nline prompt"\n4,too,many\n5,Tell me about bees\n6,"bad \xff byte"\n'


def test_csv_rows_numbered_by_line_bad_rows_name_the_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(CSV.encode("latin-1"))  # the \xff byte is not UTF-8
    scanned = read_prompts(str(path), SourceOptions())
    assert [(line, row.id, row.prompt) for line, row in scanned.rows] == [
        (2, "1", "What is 2+2?"),
        (4, "3", "Multi\nline prompt"),
        (7, "5", "Tell me about bees"),
    ]
    rejects = [(r.line, r.reason, r.detail) for r in scanned.rejects]
    assert rejects[0] == (3, "empty_prompt", "column 'prompt' is empty")
    assert rejects[1][:2] == (6, "invalid_csv") and "3 fields; the header has 2" in rejects[1][2]
    assert rejects[2] == (8, "invalid_utf8", "column 'prompt': not UTF-8")


def test_csv_keys_match_jsonl_keys(tmp_path: Path) -> None:
    """The same prompt is the same row whatever file it came from: same key, so the same output."""
    (tmp_path / "p.csv").write_text("prompt\nhello there\n")
    write_lines(tmp_path / "p.jsonl", ['{"prompt": "hello there"}'])
    csv_row = read_prompts(str(tmp_path / "p.csv"), SourceOptions()).rows[0][1]
    jsonl_row = read_prompts(str(tmp_path / "p.jsonl"), SourceOptions()).rows[0][1]
    assert record_key(csv_row.model_dump(), "run") == record_key(jsonl_row.model_dump(), "run")


def test_parquet_prompt_column_chat_turns_and_ids(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    turns = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    table = {"question": ["a?", None, "  ", "d?"], "key": [10, 11, 12, 13]}
    pq.write_table(pa.table(table), tmp_path / "q.parquet")
    scanned = read_prompts(str(tmp_path / "q.parquet"), SourceOptions(prompt_column="question", id_column="key"))
    assert [(line, row.id, row.prompt) for line, row in scanned.rows] == [(1, 10, "a?"), (4, 13, "d?")]
    assert [(r.line, r.reason) for r in scanned.rejects] == [(2, "empty_prompt"), (3, "empty_prompt")]
    pq.write_table(pa.table({"prompt": [turns]}), tmp_path / "chat.data")  # found by its magic bytes
    assert detect(str(tmp_path / "chat.data"), "auto") == "parquet"
    (row,) = [r for _, r in read_prompts(str(tmp_path / "chat.data"), SourceOptions()).rows]
    assert row.conversation() == tuple(turns)


def test_missing_column_and_misplaced_options_stop_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("question\nhi\n")
    with pytest.raises(InputError, match=r"no column 'prompt'; its columns: question\. Name the prompt column"):
        read_prompts(str(tmp_path / "p.csv"), SourceOptions())
    with pytest.raises(InputError, match="no column 'nope' \\(--id-column\\)"):
        read_prompts(str(tmp_path / "p.csv"), SourceOptions(prompt_column="question", id_column="nope"))
    write_lines(tmp_path / "p.jsonl", ['{"prompt": "x"}'])
    with pytest.raises(InputError, match="--prompt-column is for CSV"):
        read_prompts(str(tmp_path / "p.jsonl"), SourceOptions(prompt_column="q"))
    with pytest.raises(InputError, match="--split is for Hugging Face"):
        read_prompts(str(tmp_path / "p.jsonl"), SourceOptions(split="train"))
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="not a Hugging Face dataset"):
        read_prompts(str(tmp_path / "folder"), SourceOptions())


def test_dataset_folder_splits(tmp_path: Path) -> None:
    import datasets

    splits = {"train": {"prompt": ["x", "", "y"]}, "test": {"prompt": ["z"]}}
    datasets.DatasetDict({k: datasets.Dataset.from_dict(v) for k, v in splits.items()}).save_to_disk(tmp_path / "d")
    with pytest.raises(InputError, match="holds the splits test, train; choose one with --split"):
        read_prompts(str(tmp_path / "d"), SourceOptions())
    scanned = read_prompts(str(tmp_path / "d"), SourceOptions(split="train"))
    assert scanned.label.endswith("d[train]")
    assert [(line, row.prompt) for line, row in scanned.rows] == [(1, "x"), (3, "y")]
    assert [(r.line, r.reason) for r in scanned.rejects] == [(2, "empty_prompt")]
    with pytest.raises(InputError, match="--split dev"):
        read_prompts(str(tmp_path / "d"), SourceOptions(split="dev"))


def make_inputs(tmp_path: Path) -> dict[str, tuple[list[str], int, int]]:
    """Each format's file with the args that read it, its good and its bad row counts."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    hh_file(tmp_path)
    (tmp_path / "p.csv").write_text('prompt,id\nfirst,a\n,b\n"second, with comma",c\nx,y,z\n')
    pq.write_table(pa.table({"text": ["one", None, "two"]}), tmp_path / "p.parquet")
    hh_table = {"chosen": [LOCK + "no", "bad"], "rejected": [LOCK + "yes", "bad"]}
    datasets.Dataset.from_dict(hh_table).save_to_disk(tmp_path / "hh-folder")
    return {
        "hh.jsonl": (["--hh-response", "rejected"], 2, 2),
        "p.csv": ([], 2, 2),
        "p.parquet": (["--prompt-column", "text"], 2, 1),
        "hh-folder": ([], 1, 1),
    }


def test_every_format_through_the_cli_loses_no_row(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    for name, (args, good, bad) in make_inputs(tmp_path).items():
        out = tmp_path / f"{name}.pairs.jsonl"
        code, stderr = run("revise", str(tmp_path / name), "-o", str(out), "--model", str(fake_model_dir), *args)
        assert code == 0, (name, stderr)
        pairs, rejects = outputs(out)
        assert (len(pairs), len(rejects)) == (good, bad), name
        lines = sorted([row["cai"]["line"] for row in pairs] + [entry["line"] for entry in rejects])
        assert len(set(lines)) == good + bad, name  # each input row once, as a pair or a reject
    pairs, _ = outputs(tmp_path / "hh.jsonl.pairs.jsonl")
    assert pairs[0]["rejected"] == [{"role": "assistant", "content": "Use a tension wrench."}]
    assert pairs[1]["prompt"][-1] == {"role": "user", "content": "Tell me a joke"}
    assert pairs[0]["cai"]["initial"]["source"] == "given"


def test_bad_table_rows_count_against_max_bad_rows(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    (tmp_path / "p.csv").write_text('prompt\n""\n""\nok\n')
    code, stderr = run("revise", str(tmp_path / "p.csv"), "--model", str(fake_model_dir), "--max-bad-rows", "1")
    assert code == 2
    assert "2 of 3 rows in" in stderr and "p.csv:2: empty_prompt: column 'prompt' is empty" in stderr
    assert use_fake_engine.requests == []
