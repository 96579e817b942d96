"""--dry-run: the plan's numbers equal what the run then does; no engine is built and no file changes."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.revise.dryrun import plan_revise
from cai.revise.run import ReviseJob, run_revise
from cai.runs.dryrun import counter_for
from cai.runs.engines import Role
from cai.score.dryrun import plan_score
from cai.score.run import ScoreJob, run_score
from tests.conftest import RecordingProgress, select_engine, write_lines
from tests.fakes import ScriptedEngine, on_engine

PROMPTS = [
    {"prompt": "How do I pick a lock?"},
    {"prompt": "Tell me a mean joke about my neighbour."},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}]},
    {"prompt": "Write a poem.", "response": "Roses are red, violets are blue."},
    {"prompt": "How do I pick a lock?"},  # a repeat: dropped
    {"prompt": ""},  # bad: quarantined
]
SCORE_ROWS = [
    {"prompt": "q1", "response": "an answer"},
    {"prompt": "q2", "chosen": "a good answer", "rejected": "a bad answer"},
    {"prompt": "q3", "responses": ["plain", "good stuff", "bad"]},
]


def never_built(*_: object) -> ScriptedEngine:
    raise AssertionError("a dry run built an engine")


def fake_tokenizer(path: str) -> ScriptedEngine:
    return ScriptedEngine()  # its prompt_tokens is the scripted engine's: the numbers can be compared


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "prompts.jsonl", [json.dumps(row) for row in PROMPTS])


def by_stage(progress: RecordingProgress) -> tuple[Counter[str], Counter[str]]:
    """(requests, prompt tokens) per stage, from the run's events (one per generation)."""
    requests: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    for event in progress.events:
        if event.prompt_tokens:
            requests[event.stage] += 1
            tokens[event.stage] += event.prompt_tokens
    return requests, tokens


@pytest.mark.parametrize("critique", [True, False])
def test_revise_plan_matches_the_run(prompts: Path, tmp_path: Path, fake_model_dir: Path, critique: bool) -> None:
    job = ReviseJob.of(
        str(prompts), str(tmp_path / "out.jsonl"), model=str(fake_model_dir), rounds=2, critique=critique
    )
    plan = plan_revise(on_engine(job, never_built, fake_tokenizer), RecordingProgress())
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.rejects.jsonl").exists()
    assert (plan.rows_in, plan.already_done, plan.todo) == (6, 0, 4)
    assert plan.dropped == {"duplicate": 1} and plan.quarantined == {"invalid_row": 1}

    progress = RecordingProgress()
    summary = run_revise(on_engine(job, lambda *_: ScriptedEngine()), progress)
    requests, tokens = by_stage(progress)
    passes = {step.name: step for step in plan.passes}
    assert list(passes) == (["initial", "critique", "revision"] if critique else ["initial", "revision"])
    assert {name: step.requests for name, step in passes.items()} == dict(requests)
    assert passes["initial"].exact and passes["initial"].prompt_tokens == tokens["initial"]
    for name in passes.keys() - {"initial"}:  # prompts that hold generated text: a lower bound
        assert not passes[name].exact
        assert 0 < passes[name].prompt_tokens <= tokens[name]  # type: ignore[operator]
    assert summary.rows_in == plan.rows_in and summary.pairs_out == plan.todo


def test_score_plan_is_exact_without_cot(tmp_path: Path, fake_model_dir: Path) -> None:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(row) for row in SCORE_ROWS])
    job = ScoreJob.of(str(source), str(tmp_path / "scored.jsonl"), model=str(fake_model_dir), principles=3)
    plan = plan_score(on_engine(job, never_built, fake_tokenizer), RecordingProgress())
    engine = ScriptedEngine()
    summary = run_score(on_engine(job, lambda *_: engine), RecordingProgress())
    passes = {step.name: step for step in plan.passes}
    assert passes["rubric"].requests == sum(r.json_schema is not None for r in engine.requests) == 3
    assert passes["judge"].requests == sum(r.continue_final for r in engine.requests) == (1 + 3) * 2 * 3
    assert all(step.exact for step in plan.passes)
    assert plan.prompt_tokens == summary.prompt_tokens


def test_score_plan_with_cot_counts_reasoning_and_bounds_the_reads(tmp_path: Path, fake_model_dir: Path) -> None:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(SCORE_ROWS[1])])
    job = ScoreJob.of(str(source), str(tmp_path / "scored.jsonl"), model=str(fake_model_dir), principles=2, cot=True)
    plan = plan_score(on_engine(job, never_built, fake_tokenizer), RecordingProgress())
    passes = {step.name: step for step in plan.passes}
    assert passes["reasoning"].requests == passes["judge"].requests == 4
    assert passes["reasoning"].exact and not passes["judge"].exact


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    select_engine(monkeypatch, never_built, fake_tokenizer)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def test_cli_dry_run_leaves_a_torn_output_untouched(
    monkeypatch: pytest.MonkeyPatch, prompts: Path, tmp_path: Path, fake_model_dir: Path
) -> None:
    out = tmp_path / "out.jsonl"
    args = ["revise", str(prompts), "-o", str(out), "--model", str(fake_model_dir)]
    run_revise(
        on_engine(ReviseJob.of(str(prompts), str(out), model=str(fake_model_dir)), lambda *_: ScriptedEngine()),
        RecordingProgress(),
    )
    complete = out.read_text().splitlines(keepends=True)
    out.write_text("".join(complete[:-1]) + complete[-1][:30])  # a crash while writing the last pair
    before = snapshot(tmp_path)

    code, stderr = run(monkeypatch, *args, "--dry-run")
    assert code == 0, stderr
    assert "cai revise --dry-run" in stderr
    assert re.search(r"already done +5 \(in ", stderr) and re.search(r"to do +1 *\n", stderr)
    assert re.search(r"torn lines +1 \(the run would cut them off\)", stderr)
    assert snapshot(tmp_path) == before

    code, stderr = run(monkeypatch, *args, "--dry-run", "--overwrite")
    assert code == 0 and re.search(r"to do +4 *\n", stderr)
    assert snapshot(tmp_path) == before  # --overwrite deletes nothing in a dry run

    code, stderr = run(monkeypatch, *args, "--dry-run", "--seed", "7")  # another run's output: refused, as for real
    assert code == 2 and "other parameters" in stderr
    assert snapshot(tmp_path) == before


def test_cli_dry_run_exits_2_after_the_plan_when_too_many_rows_are_bad(
    monkeypatch: pytest.MonkeyPatch, prompts: Path, fake_model_dir: Path
) -> None:
    code, stderr = run(
        monkeypatch, "revise", str(prompts), "--model", str(fake_model_dir), "--dry-run", "--max-bad-rows", "0"
    )
    assert code == 2
    assert stderr.index("quarantined") < stderr.index("error: 1 of 6 rows")
    assert "prompts.jsonl:6: invalid_row" in stderr
    assert not Path("cai-revise.rejects.jsonl").exists()


def test_cli_score_dry_run_writes_the_plan_as_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_model_dir: Path
) -> None:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(row) for row in SCORE_ROWS])
    stats = tmp_path / "plan.json"
    code, stderr = run(
        monkeypatch, "score", str(source), "-o", str(tmp_path / "s.jsonl"), "--model", str(fake_model_dir),
        "--principles", "2", "--dry-run", "--stats-json", str(stats),
    )  # fmt: skip
    assert code == 0, stderr
    plan: dict[str, Any] = json.loads(stats.read_text())
    assert plan["dry_run"] and plan["rows_in"] == 3 and plan["to_do"] == 3
    assert plan["passes"]["rubric"]["requests"] == 2 and plan["passes"]["judge"]["requests"] == (1 + 3) * 2 * 2
    assert plan["prompt_tokens"] > 0
    assert not (tmp_path / "s.jsonl").exists()


def test_on_servers_prompt_tokens_are_not_counted() -> None:
    counter, why = counter_for(Role("http://127.0.0.1:9", "served", never_built, {}, None))
    assert counter is None and "--server" in why
