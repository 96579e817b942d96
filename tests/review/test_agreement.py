"""Agreement figures against values computed by hand on small fixtures (the arithmetic is in each comment)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai.review.agreement import agreement_figures
from cai.review.items import ReviewItem, write_review

LONG, SHORT = "a much longer response than the other one", "short"


def item(
    key: str, p_a: float | None, stratum: tuple[str, int, int], a_longer: bool, shown_a: str = "a", **extra: Any
) -> ReviewItem:
    name, size, sampled = stratum
    a, b = (LONG, SHORT) if a_longer else (SHORT, LONG)
    return ReviewItem.model_validate(
        {
            "item": key,
            "source": {"path": "pairs.jsonl", "line": 1},
            "conversation": [{"role": "user", "content": "q"}],
            "response_A": a if shown_a == "a" else b,
            "response_B": b if shown_a == "a" else a,
            "shown_A": shown_a,
            "judge": None if p_a is None else {"p_a": p_a, "position_consistent": extra.get("consistent", True)},
            "principle": extra.get("principle", "p1"),
            "stratum": {"id": name, "size": size, "sampled": sampled},
            "inclusion_probability": sampled / size,
            "weight": size / sampled,
            "population": 100,
        }
    )


def labels(path: Path, reviewer: str, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"item": k, "label": v, "reviewer": reviewer}) + "\n" for k, v in rows))
    return path


@pytest.fixture
def stratified(tmp_path: Path) -> Path:
    """S1: 90 pairs, 3 sampled, judge says a (0.85), humans say a. S2: 10 pairs, 3 sampled, judge a (0.65), humans b.

    Items alternate which source side is shown as A, so the letter→side mapping is exercised.
    """
    s1, s2 = ("S1", 90, 3), ("S2", 10, 3)
    items = [
        item("i1", 0.85, s1, True, "a"),
        item("i2", 0.85, s1, True, "b"),
        item("i3", 0.85, s1, True, "a"),
        item("i4", 0.65, s2, False, "b", principle="p2", consistent=False),
        item("i5", 0.65, s2, False, "a", principle="p2", consistent=False),
        item("i6", 0.65, s2, False, "b", principle="p2", consistent=False),
    ]
    review = tmp_path / "review.jsonl"
    write_review(review, items)
    # humans: source a on i1-i3 (letters A, B, A), source b on i4-i6 (letters A, B, A)
    labels(
        tmp_path / "review.labels.ana.jsonl",
        "ana",
        [("i1", "A"), ("i2", "B"), ("i3", "A"), ("i4", "A"), ("i5", "B"), ("i6", "A")],
    )
    return review


def test_weighted_estimate_differs_from_the_unweighted_one(stratified: Path) -> None:
    figures = agreement_figures(stratified)
    assert figures["reviewed"] == 6
    assert figures["agreement"] == pytest.approx(0.5)  # 3 of 6
    # Wilson 95 %: centre 0.5, half-width z/(1+z²/n)·sqrt(p(1-p)/n + z²/4n²) = 0.31238
    assert figures["agreement_ci"] == pytest.approx([0.187616, 0.812384], abs=1e-5)
    # stratum-weighted: 0.9 · 3/3 + 0.1 · 0/3
    assert figures["weighted_agreement"] == pytest.approx(0.9)
    # var = 0.9²·(0.8·0.2/3)(1−3/90) + 0.1²·(0.2·0.8/3)(1−3/10) = 0.0421333; half-width 1.96·0.205264
    assert figures["weighted_agreement_ci"] == pytest.approx([0.497690, 1.0], abs=1e-5)
    assert figures["weighted_coverage"] == pytest.approx(1.0)
    # judge always a, humans half a: p_o = 0.5, p_e = 1·0.5 + 0·0.5 = 0.5 → κ = 0
    assert figures["kappa"] == pytest.approx(0.0)


def test_calibration_and_the_longer_baseline(stratified: Path) -> None:
    figures = agreement_figures(stratified)
    # Brier: (3·0.15² + 3·0.65²)/6
    assert figures["brier"] == pytest.approx(0.2225)
    assert figures["reliability"] == [
        {"low": 0.6, "high": 0.7, "count": 3, "mean_p": pytest.approx(0.65), "observed": 0.0},
        {"low": 0.8, "high": 0.9, "count": 3, "mean_p": pytest.approx(0.85), "observed": 1.0},
    ]
    assert figures["ece"] == pytest.approx(0.5 * 0.65 + 0.5 * 0.15)
    # humans always chose the longer response; the judge did on S1 only
    assert figures["longer_baseline"] == pytest.approx(1.0)
    assert figures["judge_prefers_longer"] == pytest.approx(0.5)
    assert figures["human_prefers_longer"] == pytest.approx(1.0)


def test_breakdowns_by_principle_and_position_consistency(stratified: Path) -> None:
    figures = agreement_figures(stratified)
    assert figures["by_principle"]["p1"]["agreement"] == 1.0
    assert figures["by_principle"]["p2"]["agreement"] == 0.0
    assert set(figures["by_position_consistency"]) == {"consistent", "inconsistent"}
    assert figures["by_position_consistency"]["inconsistent"]["n"] == 3
    assert figures["reference"]["human_human_agreement"]["low"] == 0.63


def test_ties_are_excluded_or_a_class(stratified: Path) -> None:
    path = stratified.with_name("review.labels.ana.jsonl")
    with path.open("a") as handle:
        handle.write(json.dumps({"item": "i1", "label": "tie", "reviewer": "ana"}) + "\n")  # relabel: the last wins
    figures = agreement_figures(stratified)
    assert figures["duplicate_labels"] == 1
    assert figures["human_ties"] == 1
    assert figures["agreement"] == pytest.approx(2 / 5)
    assert figures["agreement_with_ties"] == pytest.approx(2 / 6)


def test_two_reviewers_kappa_and_alpha(tmp_path: Path) -> None:
    s = ("S", 4, 4)
    review = tmp_path / "review.jsonl"
    write_review(review, [item(f"i{n}", 0.8, s, True) for n in range(4)])
    labels(tmp_path / "review.labels.ana.jsonl", "ana", [("i0", "A"), ("i1", "A"), ("i2", "B"), ("i3", "B")])
    labels(tmp_path / "review.labels.ben.jsonl", "ben", [("i0", "A"), ("i1", "B"), ("i2", "B"), ("i3", "B")])
    inter = agreement_figures(review)["inter_reviewer"]
    assert inter["method"] == "cohen_kappa"
    assert inter["agreement"] == pytest.approx(0.75)
    assert inter["kappa"] == pytest.approx(0.5)  # p_o 0.75, p_e 0.5·0.25 + 0.5·0.75 = 0.5
    # nominal α: n = 8 pairable values, n_a = 3, n_b = 5, one disagreeing unit → 1 − 7·2 / (2·3·5)
    assert inter["alpha"] == pytest.approx(1 - 14 / 30)


def test_three_reviewers_use_krippendorff_alpha_and_majority_labels(tmp_path: Path) -> None:
    s = ("S", 2, 2)
    review = tmp_path / "review.jsonl"
    write_review(review, [item("i0", 0.9, s, True), item("i1", 0.9, s, True)])
    for name, votes in (("ana", ["A", "B"]), ("ben", ["A", "B"]), ("cy", ["B", "tie"])):
        labels(tmp_path / f"review.labels.{name}.jsonl", name, list(zip(["i0", "i1"], votes, strict=True)))
    figures = agreement_figures(review)
    assert figures["inter_reviewer"]["method"] == "krippendorff_alpha"
    assert figures["inter_reviewer"]["alpha"] is not None
    assert figures["agreement"] == pytest.approx(0.5)  # majorities a, b; the judge says a twice


def test_revise_rows_without_a_verdict_compare_to_the_implicit_label(tmp_path: Path) -> None:
    review = tmp_path / "review.jsonl"
    write_review(review, [item("i0", None, ("S", 1, 1), True), item("i1", None, ("S", 1, 1), True)][:1])
    labels(tmp_path / "review.labels.ana.jsonl", "ana", [("i0", "A")])
    figures = agreement_figures(review)
    assert figures["agreement"] == 1.0 and figures["implicit_label_items"] == 1
    assert figures["brier"] is None and figures["reliability"] == [] and figures["calibration_n"] == 0


def test_no_labels_gives_nulls_not_errors(stratified: Path) -> None:
    stratified.with_name("review.labels.ana.jsonl").unlink()
    figures = agreement_figures(stratified)
    assert figures["reviewed"] == 0
    for key in (
        "agreement",
        "agreement_ci",
        "kappa",
        "kappa_ci",
        "weighted_agreement",
        "brier",
        "ece",
        "longer_baseline",
    ):
        assert figures[key] is None
    json.dumps(figures)  # serialisable as is


def test_contract_keys_for_cai_report(stratified: Path) -> None:
    figures = agreement_figures(stratified, [stratified.with_name("review.labels.ana.jsonl")])
    required = {
        "reviewed", "agreement", "agreement_ci", "agreement_with_ties", "kappa", "kappa_ci", "weighted_agreement",
        "weighted_agreement_ci", "brier", "ece", "reliability", "longer_baseline", "by_principle",
        "by_position_consistency", "inter_reviewer", "reference",
    }  # fmt: skip
    assert required <= set(figures)
    low, high = figures["kappa_ci"]
    assert low <= figures["kappa"] <= high
    assert set(figures["reliability"][0]) == {"low", "high", "count", "mean_p", "observed"}


def test_strata_without_reviewed_items_widen_the_weighted_interval(stratified: Path) -> None:
    # ana labels only S1 (90 of 100 pairs), each item agreeing: S1 is 3/3, S2 unknown
    labels(stratified.with_name("review.labels.ana.jsonl"), "ana", [("i1", "A"), ("i2", "B"), ("i3", "A")])
    figures = agreement_figures(stratified)
    assert figures["weighted_agreement"] == pytest.approx(1.0)
    assert figures["weighted_coverage"] == pytest.approx(0.9)
    # S1 alone: p̃ = 0.8, half-width 1.96·sqrt(0.8·0.2/3·(1 − 3/90)) = 0.44502 → [0.55498, 1]; then ×0.9 (+0.1)
    assert figures["weighted_agreement_ci"] == pytest.approx([0.9 * 0.554976, 1.0], abs=1e-5)
