"""Every figure of `cai report` against a hand computation, on small files built to show one bias each."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from cai.report.names import FIGURE_NAMES
from cai.report.rows import Pointwise, RawPair, read_files
from cai.report.run import ReportJob, run_report
from cai.report.signals import Markers, load_markers
from tests.report.builders import revise_row, score_row, verdict, words, write_rows

VACCINES = "Explain how vaccines train the immune system."


def figures_of(path: Path, **options: Any) -> dict[str, Any]:
    return run_report(ReportJob((str(path),), None, **options)).figures


@pytest.fixture
def length_biased(tmp_path: Path) -> Path:
    """10 judged pairs, Δlength ±140 chars: the longer side wins 4 of 5 (chosen longer) and 3 of 5 (shorter)."""
    longer, shorter = words(30, "vaccine"), words(16, "vaccine")  # 299 and 159 characters
    rows = [
        revise_row(VACCINES, longer, shorter, verdict(p, principles=("honest",)), finish=("stop", "stop"), line=i)
        for i, p in enumerate((0.8, 0.8, 0.8, 0.8, 0.3), 1)
    ] + [
        revise_row(VACCINES, shorter, longer, verdict(p, principles=("harmless",)), finish=("stop", "stop"), line=i)
        for i, p in enumerate((0.7, 0.7, 0.2, 0.2, 0.2), 6)
    ]
    return write_rows(tmp_path / "length.jsonl", rows)


def test_length_bias_figures_match_a_hand_computation(length_biased: Path) -> None:
    f = figures_of(length_biased)
    assert (f["pairs"], f["judged_pairs"], f["length_bias_pairs"]) == (10, 10, 10)
    assert f["length_bias"] == pytest.approx(7 / 10)  # 4 (chosen longer, a wins) + 3 (chosen shorter, b wins)
    assert f["preference_raw"] == pytest.approx(6 / 10)
    # Saturated two-group logistic fit: intercept = mean of the two groups' logits, logit(.8) and logit(.4).
    odds = math.sqrt(4 * (2 / 3))
    assert f["preference_length_controlled"] == pytest.approx(odds / (1 + odds), abs=1e-4)
    assert f["length_log_odds_per_100_chars"] == pytest.approx(math.log(6) / 2 / 1.4, abs=1e-3)
    # Spearman = Pearson of the ranks: Δlength ranks 8 (+140) and 3 (−140); margins 0.6→8.5, 0.4→5.5, −0.4→4, −0.6→2.
    ranks_delta = [8.0] * 5 + [3.0] * 5
    ranks_margin = [8.5] * 4 + [4.0] + [5.5] * 2 + [2.0] * 3
    assert f["length_margin_spearman"] == pytest.approx(statistics.correlation(ranks_delta, ranks_margin))
    assert f["mean_margin"] == pytest.approx((4 * 0.6 - 0.4 + 2 * 0.4 - 3 * 0.6) / 10)
    assert f["mean_chars_chosen"] == f["mean_chars_rejected"] == pytest.approx((299 + 159) / 2)
    assert f["self_preference"] == 1.0  # revise --judge: the writer judged its own pairs
    assert f["position_inconsistent"] == 0.0
    assert f["first_wins_inconsistent"] is None
    assert f["label_agreement"] is None


def test_per_principle_and_rounds(length_biased: Path) -> None:
    report = run_report(ReportJob((str(length_biased),), None))
    by_name = {row["principle"]: row for row in report.per_principle}
    assert by_name["honest"]["pairs"] == 5
    assert by_name["honest"]["mean_margin"] == pytest.approx((4 * 0.6 - 0.4) / 5)
    assert by_name["honest"]["drops"] == pytest.approx(1 / 5)
    assert by_name["harmless"]["mean_margin"] == pytest.approx((2 * 0.4 - 3 * 0.6) / 5)
    assert by_name["harmless"]["drops"] == pytest.approx(3 / 5)
    assert by_name["harmful-content"] == {
        "principle": "harmful-content",
        "pairs": 0,
        "mean_margin": None,
        "drops": None,
        "revisions": 20,
    }
    assert [(r["round"], r["pairs"]) for r in report.length_by_round] == [(0, 10), (1, 10), (2, 10)]
    assert report.length_by_round[0]["mean_chars"] == pytest.approx(229)


def test_position_bias_and_label_agreement(tmp_path: Path) -> None:
    orders = [(0.8, 0.7), (0.7, 0.4), (0.6, 0.2), (0.3, 0.6)]  # consistent; first wins ×2; second wins
    rows = [
        score_row(words(10, "vaccine"), words(10, "immune"), (first + second) / 2, a_first=first, a_second=second)
        for first, second in orders
    ]
    f = figures_of(write_rows(tmp_path / "scored.jsonl", rows))
    assert f["position_inconsistent"] == pytest.approx(3 / 4)
    assert f["first_wins_inconsistent"] == pytest.approx(2 / 3)
    assert f["label_agreement"] == pytest.approx(2 / 4)  # p_a .75 and .55 agree with the label
    assert f["self_preference"] is None  # no provenance: who wrote the sides is unknown
    assert f["truncated_chosen"] is None
    assert f["length_bias"] is None and f["length_bias_pairs"] == 0  # equal lengths


def test_self_preference_when_the_judge_wrote_a_side(tmp_path: Path) -> None:
    own = {**revise_row(VACCINES, words(10, "immune"), words(9, "vaccine")), "scores": {}}
    other = {**revise_row(VACCINES, words(10, "immune"), words(9, "vaccine")), "scores": {}}
    own["scores"] = score_row("x", "y", 0.7, model=own["cai"]["model"])["scores"]
    other["scores"] = score_row("x", "y", 0.7, model="judge-7b")["scores"]
    f = figures_of(write_rows(tmp_path / "revised-then-scored.jsonl", [own, other, own]))
    assert f["self_preference"] == pytest.approx(2 / 3)


@pytest.fixture
def text_signals(tmp_path: Path) -> Path:
    """5 unjudged pairs, one flag each (row: what it shows)."""
    lock = "How do I pick a lock on my front door?"
    rows = [
        # 1: chosen refuses, moralises and leaves the prompt (no word of pick/lock/front/door)
        revise_row(
            lock,
            "I'm sorry, but I can't help with that. It's important to respect the law.",
            "Insert a tension wrench into the lock and rake the pins gently.",
            line=1,
        ),
        # 2: chosen, rejected and the critique cut at max_tokens
        revise_row(
            VACCINES,
            words(12, "vaccine"),
            words(10, "immune"),
            finish=("length",),
            initial_finish="length",
            critique_finish="length",
            line=2,
        ),
        # 3: chosen loops: 36 words, 34 3-grams, 6 distinct → 1 − 6/34 repeated
        revise_row(VACCINES, "the vaccine sat on the mat " * 6, words(10, "immune"), line=3),
        # 4: near-duplicate: 3-gram Jaccard 18/19
        revise_row(VACCINES, words(21, "vaccine"), words(20, "vaccine"), line=4),
        # 5: an empty side (rejected) — also off the prompt
        revise_row(VACCINES, words(10, "immune"), "", line=5),
    ]
    return write_rows(tmp_path / "signals.jsonl", rows)


def test_text_signals_match_a_hand_computation(text_signals: Path) -> None:
    f = figures_of(text_signals)
    expected = {
        "refusal_chosen": 1 / 5,
        "refusal_rejected": 0.0,
        "moralising_chosen": 1 / 5,
        "moralising_rejected": 0.0,
        "drift_chosen": 1 / 5,
        "drift_rejected": 1 / 5,
        "truncated_chosen": 1 / 5,
        "truncated_rejected": 1 / 5,
        "truncated_critiques": 1 / 5,
        "repetitive_chosen": 1 / 5,
        "repetitive_rejected": 0.0,
        "near_duplicate": 1 / 5,
        "empty_side": 1 / 5,
    }
    assert {name: f[name] for name in expected} == pytest.approx(expected)
    assert f["judged_pairs"] == 0
    assert f["length_bias"] is f["preference_raw"] is f["self_preference"] is None


def test_markers_file_extends_the_shipped_list(text_signals: Path, tmp_path: Path) -> None:
    extra = tmp_path / "markers.yaml"
    extra.write_text("moralising:\n  - rake the pins\n", encoding="utf-8")
    assert figures_of(text_signals, markers=extra)["moralising_rejected"] == pytest.approx(1 / 5)


def test_markers_match_either_apostrophe_and_ignore_case() -> None:
    markers = load_markers()
    assert markers.found("refusal", "Well. I CAN’T HELP with this.")
    assert not markers.found("refusal", "I can help with this.")
    assert not Markers({"refusal": ()}).found("refusal", "I can't help")


def test_ranked_rows_are_read_best_against_worst(tmp_path: Path) -> None:
    pair = {"a": 0, "b": 1, **verdict(0.2, 0.3, 0.1)}  # judged worst (0) against best (1)
    row = {
        "prompt": VACCINES,
        "responses": ["short", "longer answer"],
        "chosen": "longer answer",
        "rejected": "short",
        "scores": {"kind": "rank", "model": "m", "win_rate": [0.2, 0.8], "best": 1, "worst": 0, "pairs": [pair]},
    }
    pointwise = {"prompt": VACCINES, "response": "r", "scores": {"kind": "pointwise", "overall": 7.0}}
    (raw, pointwise_row) = list(read_files([str(write_rows(tmp_path / "rank.jsonl", [row, pointwise]))]))
    assert isinstance(raw, RawPair) and raw.verdict is not None
    assert isinstance(pointwise_row, Pointwise) and pointwise_row.overall == 7.0
    assert raw.verdict["p_a"] == pytest.approx(0.8)
    assert raw.verdict["orders"] == pytest.approx({"a_first": 0.9, "a_second": 0.7})
    assert raw.verdict["preferred"] == "a"
    f = figures_of(tmp_path / "rank.jsonl")
    assert (f["rows"], f["pairs"], f["pointwise_rows"]) == (2, 1, 1)


def test_every_figure_has_a_stable_name(length_biased: Path) -> None:
    assert list(figures_of(length_biased)) == list(FIGURE_NAMES)
