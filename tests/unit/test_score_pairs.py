"""`cai score --pairs all|best-worst|adjacent` on the scripted engine: pair rows, their labels, keys and resume."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cai import api
from cai.errors import InputError
from cai.io.keys import pair_key
from cai.io.pairs import Pair, read_pair
from cai.io.records import BadRow
from cai.io.scored import torn_group
from cai.score.run import ScoreJob, ScoreSummary, run_score
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine, options

# with tests.fakes.prefers_good: 1 and 3 beat 0 and 2 (0.8); 0 vs 2 and 1 vs 3 are ties (0.5)
RANKED = {"id": "r", "prompt": [{"role": "user", "content": "q"}], "responses": ["plain", "good stuff", "bad", "good"]}
PAIRWISE = {"id": "p", "prompt": "q2", "chosen": "a good answer", "rejected": "a bad answer"}


def score(
    tmp_path: Path, rows: list[dict[str, Any]], engine: ScriptedEngine, output: str = "scored.jsonl", **options: Any
) -> ScoreSummary:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(r) for r in rows])
    model = tmp_path / "fake-model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}")
    job = ScoreJob.of(rows=str(source), output=str(tmp_path / output), model=str(model), **options)
    return run_score(on_engine(job, lambda *_: engine), RecordingProgress())


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_pairs_all_writes_one_row_per_judged_pair_chosen_as_the_judge_prefers(tmp_path: Path) -> None:
    summary = score(tmp_path, [RANKED, PAIRWISE], ScriptedEngine(), pairs="all", principles=2)
    rows = read(tmp_path / "scored.jsonl")
    pair_rows, (pairwise,) = rows[:6], rows[6:]
    assert pairwise["scores"]["kind"] == "pairwise" and pairwise["chosen"] == "a good answer"
    for row in pair_rows:
        scores, group = row["scores"], row["scores"]["ranked"]
        assert set(row) == {"id", "prompt", "chosen", "rejected", "scores"}  # the responses gave way to the pair
        chosen, rejected = RANKED["responses"][group["chosen"]], RANKED["responses"][group["rejected"]]
        assert row["chosen"] == [{"role": "assistant", "content": chosen}] and row["rejected"][0]["content"] == rejected
        assert (
            scores["kind"] == "pair"
            and scores["p_a"] >= 0.5
            and scores["margin"] == pytest.approx(2 * scores["p_a"] - 1)
        )
        assert scores["key"] == pair_key(group["key"], *sorted((group["chosen"], group["rejected"])))
        assert group["mode"] == "all" and group["pairs"] == 6 and len(group["win_rate"]) == 4
    assert [row["scores"]["ranked"]["pair"] for row in pair_rows] == list(range(6))
    decided = {
        (r["scores"]["ranked"]["chosen"], r["scores"]["ranked"]["rejected"]): r["scores"]["p_a"] for r in pair_rows
    }
    assert decided[(1, 0)] == pytest.approx(0.8) and decided[(3, 2)] == pytest.approx(0.8)
    assert decided[(0, 2)] == pytest.approx(0.5)  # a tie keeps the input order
    assert summary.pair_rows == 6 and summary.scored == Counter({"rank": 1, "pairwise": 1}) and summary.rows_out == 2


def test_a_turned_verdict_reads_each_order_from_the_chosen_side(tmp_path: Path) -> None:
    score(tmp_path, [RANKED], ScriptedEngine(), pairs="all", principles=1)
    rows = {
        (r["scores"]["ranked"]["chosen"], r["scores"]["ranked"]["rejected"]): r for r in read(tmp_path / "scored.jsonl")
    }
    ranked_entry = rows[(1, 0)]["scores"]  # judged as a = 0 ("plain"), b = 1 ("good stuff"): turned
    (principle,) = ranked_entry["principles"]
    assert principle["p_a"] == pytest.approx(0.8) and principle["a_first"] == pytest.approx(0.8)
    assert ranked_entry["orders"] == {"a_first": pytest.approx(0.8), "a_second": pytest.approx(0.8)}
    assert ranked_entry["preferred"] == "a" and ranked_entry["position_consistent"] is True


def test_adjacent_pairs_follow_the_ranking(tmp_path: Path) -> None:
    score(tmp_path, [RANKED], ScriptedEngine(), pairs="adjacent", principles=1)
    rows = read(tmp_path / "scored.jsonl")
    # win rates: 1 and 3 tie at the top (0.7), then 0 and 2 (0.3): ranking 1, 3, 0, 2
    assert [sorted((r["scores"]["ranked"]["chosen"], r["scores"]["ranked"]["rejected"])) for r in rows] == [
        [1, 3],
        [0, 3],
        [0, 2],
    ]


def test_best_worst_is_the_default_and_unchanged(tmp_path: Path) -> None:
    score(tmp_path, [RANKED, PAIRWISE], ScriptedEngine(), output="default.jsonl", principles=2)
    score(tmp_path, [RANKED, PAIRWISE], ScriptedEngine(), principles=2, pairs="best-worst")
    default = (tmp_path / "default.jsonl").read_bytes()
    assert default == (tmp_path / "scored.jsonl").read_bytes()
    ranked = json.loads(default.splitlines()[0])
    assert ranked["responses"] == RANKED["responses"] and ranked["scores"]["kind"] == "rank"
    assert "pairs" not in json.loads((tmp_path / "default.manifest.json").read_text())["parameters"]


def test_pairs_keep_the_ranked_rows_key_and_verdicts_and_a_resume_in_another_mode_is_refused(tmp_path: Path) -> None:
    score(tmp_path, [RANKED], ScriptedEngine(), output="best.jsonl", principles=2)
    score(tmp_path, [RANKED], ScriptedEngine(), output="all.jsonl", principles=2, pairs="all")
    (ranked,) = read(tmp_path / "best.jsonl")
    for row in read(tmp_path / "all.jsonl"):
        group = row["scores"]["ranked"]
        assert group["key"] == ranked["scores"]["key"]
        judged = next(p for p in ranked["scores"]["pairs"] if {p["a"], p["b"]} == {group["chosen"], group["rejected"]})
        asked = [p["principle"] for p in judged["principles"]]
        assert [p["principle"] for p in row["scores"]["principles"]] == asked  # the same questions, the same answers
    with pytest.raises(InputError, match=r"pairs: None then, 'adjacent' now"):
        score(tmp_path, [RANKED], ScriptedEngine(), output="best.jsonl", principles=2, pairs="adjacent")


def test_the_judge_asks_each_unordered_pair_once_per_principle_and_order(tmp_path: Path) -> None:
    engine = ScriptedEngine()
    score(tmp_path, [RANKED], engine, pairs="all", principles=3)
    asked = Counter(
        (*options(request)[:2], request.messages[-2]["content"].rsplit("\n", 1)[-1]) for request in engine.requests
    )
    assert len(engine.requests) == 6 * 2 * 3 and set(asked.values()) == {1}
    shown = Counter(frozenset(key[:2]) for key in asked)
    assert len(shown) == 6 and set(shown.values()) == {2 * 3}  # both orders of every pair, three principles each


def test_identical_pairs_are_left_out_and_a_row_of_nothing_else_is_dropped(tmp_path: Path) -> None:
    twins = {**RANKED, "id": "t", "responses": ["good one", "Good one.", "plain"]}
    same = {**RANKED, "id": "s", "responses": ["same", "Same!"]}
    summary = score(tmp_path, [twins, same], ScriptedEngine(), pairs="all", principles=1)
    rows = read(tmp_path / "scored.jsonl")
    assert {(r["scores"]["ranked"]["chosen"], r["scores"]["ranked"]["rejected"]) for r in rows} == {(0, 2), (1, 2)}
    (dropped,) = read(tmp_path / "scored.rejects.jsonl")
    assert (dropped["reason"], dropped["kind"]) == ("identical_candidates", "dropped")
    assert summary.identical_pairs == 2 and summary.pair_rows == 2


def test_a_group_cut_short_by_a_crash_is_cut_off_and_redone(tmp_path: Path) -> None:
    rows = [{**RANKED, "id": i} for i in range(3)]
    score(tmp_path, rows, ScriptedEngine(), pairs="all", principles=1)
    out = tmp_path / "scored.jsonl"
    complete = out.read_bytes()
    lines = complete.splitlines(keepends=True)
    assert torn_group(lines) == 0 and torn_group(lines[:-2]) == 4 and torn_group(lines[:12]) == 0
    out.write_bytes(b"".join(lines[:-2]) + lines[-2][:30])  # killed while writing the last row's pairs
    summary = score(tmp_path, rows, ScriptedEngine(), pairs="all", principles=1)
    assert summary.already_done == 2 and summary.pair_rows == 6
    assert out.read_bytes() == complete


def test_pair_rows_read_as_pairs_for_review_and_report(tmp_path: Path) -> None:
    score(tmp_path, [RANKED], ScriptedEngine(), pairs="all", principles=1)
    for row in read(tmp_path / "scored.jsonl"):
        pair = read_pair(row)
        assert isinstance(pair, Pair)
        assert pair.kind == "pair" and pair.verdict is not None and pair.verdict["p_a"] >= 0.5
        assert pair.a == row["chosen"][0]["content"] and pair.conversation == ({"role": "user", "content": "q"},)


def test_api_score_yields_pair_rows_in_order() -> None:
    rows = list(api.score([RANKED, PAIRWISE], ScriptedEngine(), pairs="adjacent", principles=1))
    assert [row["scores"]["kind"] for row in rows] == ["pair", "pair", "pair", "pairwise"]


def test_sampled_rows_are_not_pairs_and_their_finish_reasons_reach_the_pairs(tmp_path: Path) -> None:
    provenance = {"key": "k", "model": "writer", "finish_reasons": ["stop", "length", "stop", "length"]}
    sampled = {**RANKED, "cai": provenance}
    with pytest.raises(BadRow, match="cai sample row holds candidates, not a pair"):
        read_pair(sampled)
    score(tmp_path, [sampled], ScriptedEngine(), output="best.jsonl", principles=1)
    score(tmp_path, [sampled], ScriptedEngine(), output="all.jsonl", principles=1, pairs="all")
    (best,) = read(tmp_path / "best.jsonl")
    pair = read_pair(best)
    assert isinstance(pair, Pair) and pair.writer == "writer"
    reasons = provenance["finish_reasons"]
    assert (pair.finish_a, pair.finish_b) == (reasons[best["scores"]["best"]], reasons[best["scores"]["worst"]])
    for row in read(tmp_path / "all.jsonl"):
        pair = read_pair(row)
        group = row["scores"]["ranked"]
        assert isinstance(pair, Pair) and (pair.finish_a, pair.finish_b) == (
            reasons[group["chosen"]],
            reasons[group["rejected"]],
        )
