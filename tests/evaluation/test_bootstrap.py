"""Controlled win rates and bootstrap intervals over prompts, against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cai.evaluation.bootstrap import controlled, fit_at_zero, intervals, varying
from cai.evaluation.stats import Judged, controlled_figures, wilson


def test_the_batched_fit_is_scikit_learns_unpenalised_fit() -> None:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    rng = np.random.default_rng(7)
    n = 200
    x = np.column_stack([rng.normal(0, 2, n), rng.normal(0, 5, n)])
    scores = (rng.random(n) < 1 / (1 + np.exp(-(0.4 + 0.6 * x[:, 0] - 0.1 * x[:, 1])))).astype(float)
    scores[::5] = 0.5  # ties: half a win, half a loss
    both, outcome = np.vstack([x, x]), np.r_[np.ones(n), np.zeros(n)]
    weight = np.r_[scores, 1 - scores]
    keep = weight > 0
    model = LogisticRegression(C=math.inf, max_iter=10_000, tol=1e-10)
    model.fit(both[keep], outcome[keep], sample_weight=weight[keep])
    expected = 1 / (1 + math.exp(-float(model.intercept_[0])))
    assert fit_at_zero(x, scores, np.ones((1, n)))[0] == pytest.approx(expected, abs=1e-6)
    # a resample is a vector of multiplicities: counting a prompt twice is listing it twice
    counts = rng.integers(0, 3, size=n).astype(float)
    repeated = np.repeat(np.arange(n), counts.astype(int))
    listed = fit_at_zero(x[repeated], scores[repeated], np.ones((1, len(repeated))))[0]
    assert fit_at_zero(x, scores, counts[None, :])[0] == pytest.approx(listed, abs=1e-8)


def test_style_control_reads_the_rate_at_equal_formatting() -> None:
    # length constant (dropped); markdown +10 in 6 pairs (B wins 5 of 6), 0 in 4 pairs (B wins 2 of 4):
    # with two markdown values the model is saturated, so the rate at Δmarkdown = 0 is that group's, 1/2
    scores = [1, 1, 1, 1, 1, 0, 1, 0.5, 0.5, 0]
    columns = varying({"length": [1.0] * 10, "markdown": [10.0] * 6 + [0.0] * 4})
    assert list(columns) == ["markdown"]
    assert sum(scores) / len(scores) == 0.7
    assert controlled(columns, scores) == pytest.approx(0.5, abs=1e-6)
    assert controlled(varying({"length": [1.0] * 10}), scores) is None  # nothing varies: undefined
    assert controlled(columns, [1.0] * 10) is None  # one side wins every pair: undefined


def test_the_raw_interval_is_the_normal_one_on_many_prompts_and_narrower_than_wilson_with_ties() -> None:
    scores = [0.5] * 200 + [1.0] * 200  # ties and wins: each prompt varies less than a coin
    found = intervals(scores, {})
    mean, sd = 0.75, 0.25
    assert found["raw"] == pytest.approx([mean - 1.96 * sd / 20, mean + 1.96 * sd / 20], abs=0.006)
    low, high = wilson(sum(scores), len(scores)) or [0, 0]
    assert high - low > (found["raw"][1] - found["raw"][0]) * 1.3  # type: ignore[index]


def test_intervals_are_seeded_and_cover_their_point_estimates() -> None:
    rng = np.random.default_rng(3)
    length = list(rng.normal(0, 1, 60))
    markdown = list(rng.normal(0, 4, 60))
    scores = [float(v) for v in (rng.random(60) < 0.65)]
    models = {"length": {"length": length}, "style": {"length": length, "markdown": markdown}}
    first, again = intervals(scores, models), intervals(scores, models)
    assert first == again
    assert intervals(scores, models, seed=1) != first
    for name, columns in models.items():
        low, high = first[name] or [0, 0]
        assert low <= (controlled(columns, scores) or -1) <= high
    assert intervals([], {"style": None}) == {"raw": None, "style": None}


def pair(winner: str, chars_b: int, markdown_delta: float) -> Judged:
    return Judged(winner, 0.5, 100, chars_b, True, None, (), markdown_delta)


def test_the_gate_bound_is_the_lower_of_wilson_and_the_bootstrap() -> None:
    sweep = [pair("b", 100 + 10 * i, 0.0) for i in range(8)]  # 8 of 8: the bootstrap collapses to a point
    figures = controlled_figures(sweep)
    assert figures["ci95_bootstrap"] == [1.0, 1.0]
    assert figures["win_rate_lower"] == pytest.approx((wilson(8, 8) or [0])[0], abs=1e-6)
    assert figures["length_controlled_win_rate"] is None and figures["style_controlled_win_rate"] is None
    assert figures["style_covariates"] == ["length"]  # markdown never varies
    mixed = [pair(w, 100 + 10 * i, float(i % 3)) for i, w in enumerate(["b", "b", "a", "b", "tie", "b", "a", "b"])]
    figures = controlled_figures(mixed)
    assert figures["style_covariates"] == ["length", "markdown"]
    lower = min(figures["ci95_bootstrap"][0], (wilson(5.5, 8) or [0])[0])  # 5 wins and a tie of 8
    assert figures["win_rate_lower"] == pytest.approx(lower, abs=1e-6)
    assert figures["style_controlled_ci95"] is not None and figures["length_controlled_ci95"] is not None
