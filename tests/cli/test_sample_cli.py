"""`cai sample` and `cai sample | cai score --pairs` through the command line on the scripted engine."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from cai.app import app
from cai.engines import Request
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine, echo_stage

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def varied(request: Request) -> str:
    """Candidates differ by seed; the judge's option reads (no seed) get the scripted judge's answers."""
    if request.seed is None:
        return echo_stage(request)
    return f"a good answer {request.seed}" if request.seed % 3 else f"answer {request.seed}"


def test_sample_to_stdout_then_score_from_stdin_writes_training_pairs(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    use_fake_engine.responder = varied
    prompts = write_lines(tmp_path / "prompts.jsonl", ['{"id": 1, "prompt": "How?"}', '{"id": 2, "prompt": "Why?"}'])
    sampled = invoke("sample", str(prompts), "-n", "4", "--model", str(fake_model_dir), "--max-tokens", "8")
    assert sampled.exit_code == 0, sampled.stderr
    rows = [json.loads(line) for line in sampled.stdout.splitlines()]
    assert [row["id"] for row in rows] == [1, 2] and all(len(row["responses"]) == 4 for row in rows)
    assert "rows out" in sampled.stderr and "prompts sampled" not in sampled.stdout
    out = tmp_path / "pairs.jsonl"
    scored = invoke(
        "score", "-", "--pairs", "best-worst", "-o", str(out), "--model", str(fake_model_dir), stdin=sampled.stdout
    )
    assert scored.exit_code == 0, scored.stderr
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in pairs] == [1, 2]
    for row in pairs:
        assert row["chosen"][0]["content"] == row["responses"][row["scores"]["best"]]
        assert row["cai"]["key"] and row["scores"]["kind"] == "rank"
    everything = invoke("score", "-", "--pairs", "all", "--model", str(fake_model_dir), "-q", stdin=sampled.stdout)
    assert everything.exit_code == 0 and everything.stderr == ""
    pair_rows = [json.loads(line) for line in everything.stdout.splitlines()]
    assert len(pair_rows) == 2 * 6 and {row["scores"]["kind"] for row in pair_rows} == {"pair"}  # candidates differ


def test_sample_dry_run_and_usage_errors(use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "prompts.txt", ["one", "two", "three"])
    plan = invoke("sample", str(prompts), "-n", "3", "--model", str(fake_model_dir), "--dry-run", "-o", "x.jsonl")
    assert plan.exit_code == 0, plan.stderr
    assert "pass candidates  9 requests" in plan.stderr and plan.stdout == "" and not Path("x.jsonl").exists()
    assert not use_fake_engine.requests
    one = invoke("sample", str(prompts), "-n", "1", "--model", str(fake_model_dir))
    assert one.exit_code == 2 and "-n" in one.stderr
    framing = invoke("sample", str(prompts), "--framing", "yes", "--model", str(fake_model_dir))
    assert framing.exit_code == 2 and "none, constitution" in framing.stderr
    pairs = invoke("score", str(prompts), "--pairs", "some", "--model", str(fake_model_dir))
    assert pairs.exit_code == 2 and "best-worst, all, adjacent" in pairs.stderr


def test_a_flood_of_bad_rows_exits_2_before_any_model_work(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", ["{not json"] * 3 + ['{"prompt": "ok"}'])
    result = invoke("sample", str(bad), "--model", str(fake_model_dir), "--max-bad-rows", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert "bad.jsonl" in result.stderr and not use_fake_engine.requests
