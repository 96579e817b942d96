"""The command line through CliRunner with the scripted engine: exit codes, stderr, clean stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.errors import EngineError
from tests.conftest import select_engine, write_lines
from tests.fakes import ScriptedEngine
from tests.poison import POISON

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "prompts.txt", ["How do I pick a lock?", "Tell me a mean joke."])


def test_stdout_carries_only_jsonl_rows(use_fake_engine: ScriptedEngine, prompts: Path, fake_model_dir: Path) -> None:
    result = invoke("revise", str(prompts), "--model", str(fake_model_dir))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert all(set(row) == {"prompt", "chosen", "rejected", "cai"} for row in rows)
    assert "pairs out" in result.stderr and "rows in" in result.stderr


def test_output_file_and_quiet(use_fake_engine: ScriptedEngine, prompts: Path, fake_model_dir: Path) -> None:
    out = prompts.parent / "nested" / "pairs.jsonl"
    result = invoke("revise", str(prompts), "-o", str(out), "--model", str(fake_model_dir), "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert len(out.read_text().splitlines()) == 2


def test_stdin_to_stdout(use_fake_engine: ScriptedEngine, fake_model_dir: Path) -> None:
    result = invoke("revise", "-", "--model", str(fake_model_dir), "-q", stdin='{"prompt": "hi"}\n{"prompt": "yo"}\n')
    assert result.exit_code == 0
    assert [json.loads(line)["prompt"][0]["content"] for line in result.stdout.splitlines()] == ["hi", "yo"]


def test_bad_input_rows_are_quarantined_and_the_rest_runs(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", ['{"prompt": "ok"}', '{"prompt": ""}', '{"prompt": "fine"}'])
    out = tmp_path / "pairs.jsonl"
    result = invoke("revise", str(bad), "-o", str(out), "--model", str(fake_model_dir))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["cai"]["line"] for line in out.read_text().splitlines()] == [1, 3]
    (entry,) = [json.loads(line) for line in (tmp_path / "pairs.rejects.jsonl").read_text().splitlines()]
    assert entry["line"] == 2 and entry["reason"] == "invalid_row" and entry["raw"] == '{"prompt": ""}'
    assert "String should have at least 1 character" in entry["detail"]
    assert "quarantined" in result.stderr and "1 (1 invalid_row)" in result.stderr


def test_poison_pill_file_loses_no_row(use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> None:
    """Every bad-row kind mixed with good rows: bad ones quarantined by line and reason, good ones written."""
    poison = tmp_path / "poison.jsonl"
    poison.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(line for line, _, _ in POISON) + b"\r\n")
    out = tmp_path / "pairs.jsonl"
    args = ["revise", str(poison), "-o", str(out), "--model", str(fake_model_dir), "--max-row-bytes", "1000"]
    result = invoke(*args, "--max-bad-rows", "20")
    assert result.exit_code == 0, result.stderr
    good = [n for n, (_, reason, _) in enumerate(POISON, start=1) if reason is None]
    bad = [(n, reason) for n, (_, reason, _) in enumerate(POISON, start=1) if reason]
    assert [json.loads(line)["cai"]["line"] for line in out.read_text().splitlines()] == good
    rejects = [json.loads(line) for line in (tmp_path / "pairs.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == bad
    assert f"rows in            {len(POISON)}" in result.stderr


def test_a_flood_of_bad_rows_exits_2_before_any_model_work(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", ['{"prompt": "ok"}', "nope", "[]", '{"prompt": 1}'])
    out = tmp_path / "pairs.jsonl"
    result = invoke("revise", str(bad), "-o", str(out), "--model", str(fake_model_dir), "--max-bad-rows", "2")
    assert result.exit_code == 2
    assert "3 of 4 rows in" in result.stderr and "--max-bad-rows 2" in result.stderr
    assert f"{bad}:2: invalid_json" in result.stderr
    assert use_fake_engine.batches == []
    assert list(tmp_path.glob("pairs*")) == []


def test_bad_constitution_exits_2_naming_file_and_field(
    use_fake_engine: ScriptedEngine, prompts: Path, tmp_path: Path, fake_model_dir: Path
) -> None:
    constitution = tmp_path / "mine.yaml"
    constitution.write_text("name: mine\ndescription: d\nprinciples:\n  - id: a\n    critique_request: c\n")
    result = invoke("revise", str(prompts), "--constitution", str(constitution), "--model", str(fake_model_dir))
    assert result.exit_code == 2
    assert str(constitution) in result.stderr
    assert "principles[0].revision_request: Field required" in result.stderr
    assert use_fake_engine.batches == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.txt"], "prompt file not found: missing.txt"),
        (["PROMPTS", "--constitution", "nope"], "unknown constitution 'nope'"),
        (["PROMPTS", "--engine-arg", "novalue"], "expected KEY=VALUE"),
        (["PROMPTS", "--model", "."], "folder has no config.json"),
        (["PROMPTS", "--model", "./models/missing"], "no such folder"),
        (["PROMPTS", "-o", "PROMPTS"], "would overwrite the input"),
        (["PROMPTS", "--rounds", "0"], "Invalid value for '--rounds'"),
        (["PROMPTS", "--input-format", "xml"], "must be one of auto, jsonl"),
    ],
)
def test_usage_errors_exit_2(
    use_fake_engine: ScriptedEngine, prompts: Path, fake_model_dir: Path, args: list[str], message: str
) -> None:
    args = [str(prompts) if a == "PROMPTS" else a for a in args]
    model = [] if "--model" in args else ["--model", str(fake_model_dir)]
    result = invoke("revise", *args, *model)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_engine_failure_exits_1(monkeypatch: pytest.MonkeyPatch, prompts: Path, fake_model_dir: Path) -> None:
    def broken(*_: object) -> ScriptedEngine:
        raise EngineError("the engine could not reserve memory; try --engine-arg kv_cache_memory_bytes=<bytes>")

    select_engine(monkeypatch, broken)
    result = invoke("revise", str(prompts), "--model", str(fake_model_dir))
    assert result.exit_code == 1
    assert "error: the engine could not reserve memory" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, prompts: Path, fake_model_dir: Path) -> None:
    def interrupted(*_: object) -> ScriptedEngine:
        raise KeyboardInterrupt

    select_engine(monkeypatch, interrupted)
    assert invoke("revise", str(prompts), "--model", str(fake_model_dir)).exit_code == 130


def test_constitution_commands(tmp_path: Path) -> None:
    listed = invoke("constitution", "list")
    assert listed.exit_code == 0
    assert "harmless" in listed.stdout and "helpful-honest" in listed.stdout
    shown = invoke("constitution", "show", "harmless")
    assert shown.exit_code == 0 and shown.stdout.startswith("#")
    good = tmp_path / "good.yaml"
    good.write_text(shown.stdout)
    valid = invoke("constitution", "validate", str(good))
    assert valid.exit_code == 0 and "valid (harmless: " in valid.stdout
    good.write_text(shown.stdout + "extra_key: 1\n")
    invalid = invoke("constitution", "validate", str(good))
    assert invalid.exit_code == 2 and "extra_key: Extra inputs are not permitted" in invalid.stderr


def test_help_and_version() -> None:
    assert "critique → revise" in invoke("--help").stdout
    assert invoke("--version").stdout.startswith("cai ")


def test_score_writes_rows_and_stats(use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> None:
    rows = write_lines(
        tmp_path / "rows.jsonl",
        [
            json.dumps({"prompt": "q", "chosen": "a good one", "rejected": "meh"}),
            json.dumps({"prompt": "q2", "response": "r"}),
        ],
    )
    stats = tmp_path / "stats" / "run.json"
    result = invoke("score", str(rows), "--model", str(fake_model_dir), "--stats-json", str(stats), "--principles", "2")
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["scores"]["kind"] for row in out] == ["pairwise", "pointwise"]
    figures = json.loads(stats.read_text())["reliability"]
    assert figures["agreement_with_labels"] == 1.0 and figures["position_consistency_rate"] == 1.0
    assert "position-consistent" in result.stderr and "agrees with labels" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clamp", "0.6", "0.4"], "0 <= LO <= 0.5 <= HI <= 1"),
        (["--principles", "0"], "Invalid value for '--principles'"),
    ],
)
def test_score_usage_errors(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path, args: list[str], message: str
) -> None:
    rows = write_lines(tmp_path / "rows.jsonl", [json.dumps({"prompt": "q", "response": "r"})])
    result = invoke("score", str(rows), "--model", str(fake_model_dir), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_min_margin_needs_judge(use_fake_engine: ScriptedEngine, prompts: Path, fake_model_dir: Path) -> None:
    result = invoke("revise", str(prompts), "--model", str(fake_model_dir), "--min-margin", "0.1")
    assert result.exit_code == 2 and "needs --judge" in result.stderr
