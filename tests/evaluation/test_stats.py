"""The eval's statistics against hand computations."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest  # type: ignore[import-untyped]

from cai.evaluation.stats import length_controlled, wilson


def test_wilson_matches_scipy_for_whole_counts() -> None:
    for successes, trials in [(0, 5), (3, 8), (8, 8), (41, 100)]:
        interval = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
        assert wilson(successes, trials) == pytest.approx([interval.low, interval.high], abs=1e-9)


def test_wilson_with_a_tie_counted_half_by_hand() -> None:
    # 4 wins, 2 ties, 2 losses: x = 5 of 8; centre and half-width of the Wilson formula by hand
    z = 1.959963984540054
    p = 5 / 8
    centre = (p + z * z / 16) / (1 + z * z / 8)
    half = z / (1 + z * z / 8) * math.sqrt(p * (1 - p) / 8 + z * z / 256)
    assert wilson(5, 8) == pytest.approx([centre - half, centre + half])
    assert wilson(4.5, 8) == pytest.approx([0.25, 0.8], abs=0.06)  # between the neighbours' intervals
    assert wilson(0, 0) is None


def test_length_controlled_two_length_groups_by_hand() -> None:
    # the model is saturated on two Δlength values, so it fits each group's rate exactly:
    # logit r1 = b0 + b1·x1, logit r2 = b0 + b1·x2  →  b0 = (x2·logit r1 − x1·logit r2) / (x2 − x1)
    delta = [100, 100, 100, 100, -150, -150, -150, -150]
    scores = [1, 1, 1, 0, 1, 0.5, 0.5, 0]  # r1 = 3/4; r2 = (1 + 0.5 + 0.5)/4 = 1/2 (ties count half)
    x1, x2 = 1.0, -1.5
    b0 = (x2 * math.log(3) - x1 * 0.0) / (x2 - x1)
    assert length_controlled(delta, scores) == pytest.approx(1 / (1 + math.exp(-b0)), abs=1e-4)


def test_length_controlled_without_a_length_effect_is_the_raw_rate() -> None:
    delta = [50, -50, 50, -50, 50, -50]
    scores = [1, 1, 0, 0, 0.5, 0.5]
    assert length_controlled(delta, scores) == pytest.approx(0.5, abs=1e-6)


def test_length_controlled_is_undefined_without_variation() -> None:
    assert length_controlled([10, 10, 10], [1, 0, 1]) is None  # Δlength constant
    assert length_controlled([10, 20, 30], [1, 1, 1]) is None  # one side wins every pair
    assert length_controlled([10], [1]) is None
