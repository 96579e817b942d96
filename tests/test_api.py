"""The Python API: the commands' flows, keys and row shapes on rows given as objects, with an engine lent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cai import api
from cai.app import app
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine

PROMPTS: list[Any] = ["How do I fix my bike?", {"id": "q2", "prompt": "Is the Moon made of cheese?"}]


def cli_rows(tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_revise_gives_the_rows_the_command_writes(use_fake_engine: ScriptedEngine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.jsonl", [json.dumps({"prompt": PROMPTS[0]}), json.dumps(PROMPTS[1])])
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    engine = ScriptedEngine(model_name=str(model))  # the label the command writes for this folder
    expected = cli_rows(tmp_path, "revise", str(prompts), "-m", str(model), "--rounds", "2", "-q")
    rows = list(api.revise([{"prompt": PROMPTS[0]}, PROMPTS[1]], engine, rounds=2))
    assert rows == expected
    assert not engine.closed  # lent: the caller closes it


def test_revise_puts_bad_rows_first_as_reject_entries() -> None:
    rows = list(api.revise(["fine", {"prompt": ""}, {"nope": 1}], ScriptedEngine(), max_tokens=16))
    assert [row.get("reason") for row in rows] == ["invalid_row", "invalid_row", None]
    assert [row["line"] for row in rows[:2]] == [2, 3]
    assert rows[2]["prompt"] == [{"role": "user", "content": "fine"}]


def test_score_gives_the_rows_the_command_writes(use_fake_engine: ScriptedEngine, tmp_path: Path) -> None:
    pairs = [{"prompt": "p", "chosen": "a good one", "rejected": "a bad one"}, {"prompt": "q", "response": "ok"}]
    source = write_lines(tmp_path / "pairs.jsonl", [json.dumps(row) for row in pairs])
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    expected = cli_rows(tmp_path, "score", str(source), "-m", str(model), "--principles", "2", "-q")
    rows = list(api.score(pairs, ScriptedEngine(model_name=str(model)), principles=2))
    assert rows == expected


def test_run_revise_on_files_with_a_lent_engine(tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["one", "two"])
    engine = ScriptedEngine()
    summary = api.run_revise(api.ReviseJob.of(str(prompts), str(tmp_path / "out.jsonl"), rounds=1), engine=engine)
    assert summary.pairs_out == 2 and not engine.closed
    rows = list(api.read_rows(tmp_path / "out.jsonl"))
    assert api.write_rows(tmp_path / "copy.jsonl", rows) == 2
    assert (tmp_path / "copy.jsonl").read_text() == (tmp_path / "out.jsonl").read_text()
