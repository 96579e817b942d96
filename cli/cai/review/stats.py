"""The statistics behind `cai review agreement`, from well-kept libraries, as plain numbers.

scipy: Wilson intervals for proportions, bootstrap intervals for κ, the normal quantile;
scikit-learn: Cohen's κ, the Brier score and the calibration curve; krippendorff: α for three or
more reviewers. Everything returns floats or None (undefined: too few items, one class only), never
NaN, so the results serialise to JSON as they are. Imported only by the agreement command.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Interval = list[float]  # [low, high]: a list, as in the JSON export
CONFIDENCE = 0.95


def _finite(value: Any) -> float | None:
    number = float(value)
    return None if np.isnan(number) else number


def proportion_ci(successes: int, trials: int) -> Interval | None:
    """95 % Wilson score interval: sound for small n and for proportions near 0 or 1."""
    if trials == 0:
        return None
    from scipy.stats import binomtest  # type: ignore[import-untyped]

    interval = binomtest(successes, trials).proportion_ci(CONFIDENCE, method="wilson")
    return [float(interval.low), float(interval.high)]


def kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's κ; None when it is undefined (no items, or both raters use one and the same class)."""
    if len(first) == 0 or len(set(first) | set(second)) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _finite(cohen_kappa_score(list(first), list(second)))


def kappa_ci(first: Sequence[Hashable], second: Sequence[Hashable], resamples: int = 999) -> Interval | None:
    """95 % percentile bootstrap interval for κ (items resampled in pairs, seeded: the same data, the same CI)."""
    if kappa(first, second) is None or len(first) < 3:
        return None
    from scipy.stats import bootstrap

    codes = {value: index for index, value in enumerate(sorted(set(first) | set(second), key=str))}
    x = np.array([codes[v] for v in first])
    y = np.array([codes[v] for v in second])

    def statistic(left: Any, right: Any) -> float:
        value = kappa(list(left), list(right))
        return 0.0 if value is None else value  # a resample with one class only carries no agreement beyond chance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bootstrap(
            (x, y), statistic, paired=True, vectorized=False, n_resamples=resamples, method="percentile",
            confidence_level=CONFIDENCE, rng=np.random.default_rng(0),
        )  # fmt: skip
    low, high = _finite(result.confidence_interval.low), _finite(result.confidence_interval.high)
    return None if low is None or high is None else [low, high]


def brier(outcomes: Sequence[int], probabilities: Sequence[float]) -> float | None:
    """Mean squared error of the judge's probability against what the person said (0 best, 0.25 = a coin)."""
    if not outcomes:
        return None
    from sklearn.metrics import brier_score_loss

    return float(brier_score_loss(list(outcomes), list(probabilities), labels=[0, 1]))


def reliability(outcomes: Sequence[int], probabilities: Sequence[float], bins: int = 10) -> list[dict[str, Any]]:
    """Non-empty equal-width bins of the probability: how often the person agreed, against the mean prediction."""
    if not outcomes:
        return []
    from sklearn.calibration import calibration_curve  # type: ignore[import-untyped]

    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)  # the same binning as calibration_curve
    filled = [index for index in range(bins) if counts[index]]
    return [
        {"low": round(float(edges[i]), 3), "high": round(float(edges[i + 1]), 3), "count": int(counts[i]),
         "mean_p": float(mean_p), "observed": float(seen)}
        for i, mean_p, seen in zip(filled, predicted, observed, strict=True)
    ]  # fmt: skip


def expected_calibration_error(table: Sequence[dict[str, Any]]) -> float | None:
    """ECE: the count-weighted mean gap between observed frequency and mean probability over the bins."""
    total = sum(row["count"] for row in table)
    if not total:
        return None
    return float(sum(row["count"] * abs(row["observed"] - row["mean_p"]) for row in table) / total)


@dataclass(frozen=True)
class StratumTally:
    size: int  # N_h: pairs of the stratum in the source file
    reviewed: int  # n_h: items of it with a usable label
    agreed: int


def stratified_proportion(strata: Sequence[StratumTally]) -> tuple[float, Interval, float] | None:
    """Stratum-weighted estimate for the source file, its 95 % CI, and the share of the file it covers.

    Strata weigh N_h / N over the strata that have reviewed items (coverage says how much of the file
    that is). Variance: Σ W_h² p̃_h(1 − p̃_h)/n_h · (1 − n_h/N_h), with p̃_h = (x_h + 1)/(n_h + 2) so a
    stratum of all-agree items still carries uncertainty; the finite-population factor makes a census exact.
    """
    covered = [s for s in strata if s.reviewed]
    if not covered:
        return None
    from scipy.stats import norm

    total = sum(s.size for s in covered)
    estimate = sum(s.size / total * s.agreed / s.reviewed for s in covered)
    variance = 0.0
    for s in covered:
        smoothed = (s.agreed + 1) / (s.reviewed + 2)
        finite = max(0.0, 1 - s.reviewed / s.size)
        variance += (s.size / total) ** 2 * smoothed * (1 - smoothed) / s.reviewed * finite
    half = float(norm.ppf(0.5 + CONFIDENCE / 2)) * variance**0.5
    coverage = total / max(sum(s.size for s in strata), 1)
    return estimate, [max(0.0, estimate - half), min(1.0, estimate + half)], coverage


def krippendorff_alpha(ratings: Sequence[Sequence[float]]) -> float | None:
    """Nominal α over reviewers × items (NaN = not labelled); None when there is nothing pairable."""
    import krippendorff

    data = np.asarray(ratings, dtype=float)
    if data.shape[0] < 2 or int(np.sum(np.sum(~np.isnan(data), axis=0) >= 2)) == 0:
        return None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return _finite(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None
