"""`cai score` and `cai revise --judge` on the scripted engine: shapes, outputs, quarantine, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Request
from cai.io.records import BadRow
from cai.io.scored import read_score_row
from cai.judge.pairwise import JudgeSettings
from cai.revise.run import ReviseJob, run_revise
from cai.score.run import ScoreJob, ScoreSummary, run_score
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import FailsOnCall, ScriptedEngine, biased, echo_stage, on_engine

ROWS = [
    {"id": 1, "prompt": "q1", "chosen": "a good answer", "rejected": "a bad answer"},
    {
        "id": 2,
        "prompt": [{"role": "user", "content": "q2"}],
        "chosen": [{"role": "assistant", "content": "meh"}],
        "rejected": [{"role": "assistant", "content": "a good one"}],
    },
    {"id": 3, "prompt": "q3", "response_a": "x", "response_b": "y", "meta": {"keep": True}},
    {"id": 4, "prompt": "q4", "response": "an answer"},
    {"id": 5, "prompt": "q5", "responses": ["plain", "good stuff", "bad"]},
]


def score(tmp_path: Path, rows: list[dict[str, Any]], engine: ScriptedEngine, **options: Any) -> ScoreSummary:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(r) for r in rows])
    job = ScoreJob.of(
        rows=str(source), output=str(tmp_path / "scored.jsonl"), model=str(options.pop("model")), **options
    )
    return run_score(on_engine(job, lambda *_: engine), RecordingProgress())


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_rows_come_out_unchanged_plus_scores_in_input_order(tmp_path: Path, fake_model_dir: Path) -> None:
    summary = score(tmp_path, ROWS, ScriptedEngine(), model=fake_model_dir, principles=2)
    out = read(tmp_path / "scored.jsonl")
    assert [row["id"] for row in out] == [1, 2, 3, 4, 5]
    for row, original in zip(out, ROWS, strict=False):
        assert {k: v for k, v in row.items() if k not in ("scores", "chosen", "rejected")} == {
            k: v for k, v in original.items() if k not in ("chosen", "rejected")
        }
    assert [row["scores"]["kind"] for row in out] == ["pairwise", "pairwise", "pairwise", "pointwise", "rank"]
    assert out[0]["scores"]["p_a"] == pytest.approx(0.8) and out[0]["scores"]["agrees_with_label"] is True
    assert out[1]["scores"]["p_a"] == pytest.approx(0.2) and out[1]["scores"]["agrees_with_label"] is False
    assert "agrees_with_label" not in out[2]["scores"] and out[2]["meta"] == {"keep": True}
    assert out[3]["scores"]["overall"] == 7 and len(out[3]["scores"]["principles"]) == 2
    ranked = out[4]
    assert (ranked["scores"]["best"], ranked["scores"]["worst"]) == (1, 0)
    assert (ranked["chosen"], ranked["rejected"]) == ("good stuff", "plain")
    assert len(ranked["scores"]["pairs"]) == 3
    figures = summary.reliability()
    assert figures["rows_scored"] == 5 and figures["pair_judgements"] == 3 + 3
    assert figures["labelled_rows"] == 2 and figures["agreement_with_labels"] == 0.5
    assert figures["parse_failures"] == 0


def test_reliability_figures_expose_position_bias(tmp_path: Path, fake_model_dir: Path) -> None:
    summary = score(tmp_path, ROWS[:1] * 1 + ROWS[2:3], ScriptedEngine(option_logprob=biased), model=fake_model_dir)
    figures = summary.reliability()
    assert figures["position_consistency_rate"] == 0.5  # 'x' vs 'y': the (A) pull decides both orders
    assert 0 < figures["mean_abs_margin"] < 1


def test_unparseable_scores_are_quarantined_never_repaired(tmp_path: Path, fake_model_dir: Path) -> None:
    def broken(request: Request) -> str:
        if request.json_schema is None:
            return echo_stage(request)
        return '{"score": 11, "reason": "too high"}' if "q4" in request.messages[-1]["content"] else '{"score": 3'

    rows = [ROWS[3], {"id": 6, "prompt": "q6", "response": "r"}, ROWS[0]]
    summary = score(tmp_path, rows, ScriptedEngine(broken), model=fake_model_dir, principles=1)
    assert summary.parse_failures == 2 and summary.quarantined == {"unparseable_score": 2}
    assert [row["id"] for row in read(tmp_path / "scored.jsonl")] == [1]
    rejects = read(tmp_path / "scored.rejects.jsonl")
    assert [(r["line"], r["reason"]) for r in rejects] == [(1, "unparseable_score"), (2, "unparseable_score")]
    assert "score: Input should be less than or equal to 10" in rejects[0]["detail"]
    assert rejects[0]["raw"] == '{"score": 11, "reason": "too high"}'
    assert rejects[1]["raw"] == '{"score": 3'


def test_rubric_requests_use_structured_outputs(tmp_path: Path, fake_model_dir: Path) -> None:
    engine = ScriptedEngine()
    score(tmp_path, [ROWS[3]], engine, model=fake_model_dir, principles=3)
    batch = engine.requests
    assert len(batch) == 3  # one per principle, asked one after another
    schema = batch[0].json_schema
    assert schema is not None and schema["properties"]["score"]["maximum"] == 10
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt": "q"}, "found: none"),
        ({"prompt": "q", "response": "r", "chosen": "c"}, "found: response, chosen"),
        ({"prompt": "q", "chosen": "c"}, "rejected: field required"),
        ({"prompt": "q", "responses": ["only one"]}, "list of 2 to 16"),
        ({"prompt": "", "response": "r"}, "prompt: is blank"),
        ({"prompt": [{"role": "assistant", "content": "hi"}], "response": "r"}, "must end with a user turn"),
        ({"prompt": "q", "chosen": [{"role": "user", "content": "x"}], "rejected": "y"}, "must be assistant turns"),
        ({"response": "r"}, "exactly one of 'prompt'"),
    ],
)
def test_bad_shapes_are_bad_rows(row: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRow, match=message):
        read_score_row(row)


def test_score_resumes_and_reruns_idempotently(tmp_path: Path, fake_model_dir: Path) -> None:
    score(tmp_path, ROWS, ScriptedEngine(), model=fake_model_dir)
    before = (tmp_path / "scored.jsonl").read_bytes()

    def never(*_: object) -> ScriptedEngine:
        raise AssertionError("no engine on a finished output")

    source = tmp_path / "rows.jsonl"
    again = run_score(
        on_engine(
            ScoreJob.of(rows=str(source), output=str(tmp_path / "scored.jsonl"), model=str(fake_model_dir)), never
        ),
        RecordingProgress(),
    )
    assert again.already_done == len(ROWS) and (tmp_path / "scored.jsonl").read_bytes() == before


def test_revise_judge_labels_pairs_and_min_margin_drops(tmp_path: Path, fake_model_dir: Path) -> None:
    def revised_good(request: Request) -> str:
        text = echo_stage(request)
        return text.replace("revised after", "good, revised after") if "revised after" in text else text

    source = write_lines(tmp_path / "in.txt", ["one", "two"])
    job = ReviseJob.of(
        prompts=str(source),
        output=str(tmp_path / "pairs.jsonl"),
        model=str(fake_model_dir),
        judge=JudgeSettings(principles=2),
        min_margin=0.5,
    )
    summary = run_revise(on_engine(job, lambda *_: ScriptedEngine(revised_good)), RecordingProgress())
    rows = read(tmp_path / "pairs.jsonl")
    assert len(rows) == 2 and summary.pair_judgements == 2
    judged = rows[0]["cai"]["judge"]
    assert judged["p_a"] == pytest.approx(0.8) and judged["margin"] == pytest.approx(0.6)

    strict = ReviseJob.of(**{**job.__dict__, "output": str(tmp_path / "strict.jsonl"), "min_margin": 0.7})
    summary = run_revise(on_engine(strict, lambda *_: ScriptedEngine(revised_good)), RecordingProgress())
    assert summary.pairs_out == 0 and summary.dropped == {"judge_margin": 2}
    (first, _) = read(tmp_path / "strict.rejects.jsonl")
    assert first["reason"] == "judge_margin" and "0.600 < --min-margin 0.7" in first["detail"]


def test_score_crash_keeps_finished_chunks_and_resumes(tmp_path: Path, fake_model_dir: Path) -> None:
    rows = [{"id": i, "prompt": f"q{i}", "chosen": "a good one", "rejected": "meh"} for i in range(6)]
    with pytest.raises(RuntimeError, match="engine died"):
        # two rows in flight, both orders of a row asked at once: rows 0-3 are done after two engine calls
        score(tmp_path, rows, FailsOnCall(3), model=fake_model_dir, chunk_size=2, principles=1)
    assert [row["id"] for row in read(tmp_path / "scored.jsonl")] == [0, 1, 2, 3]
    assert json.loads((tmp_path / "scored.manifest.json").read_text())["status"] == "interrupted"
    resumed = ScriptedEngine()
    summary = score(tmp_path, rows, resumed, model=fake_model_dir, chunk_size=2, principles=1)
    assert summary.already_done == 4 and summary.rows_out == 2
    keys = [row["scores"]["key"] for row in read(tmp_path / "scored.jsonl")]
    assert len(keys) == len(set(keys)) == 6
