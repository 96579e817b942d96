"""Controlled win rates and their intervals: a logistic fit with covariates, refitted on bootstrap resamples.

The outcome of a prompt is B's score (1 a win, 0.5 a tie, 0 a loss); it enters the likelihood as a
fractional outcome (a win weighted by the score, a loss by 1 − score). A controlled win rate is the fitted
P(B wins) with every covariate at 0: Δlength alone is AlpacaEval's length control, Δlength and Δmarkdown
density together are Arena-Hard-Auto's style control.

Intervals resample prompts, not judgements: a prompt's two orders and K principles are read off the same
two answers, so they are not independent draws. A resample is a vector of multiplicities (how often each
prompt was drawn), so the B resamples of one figure are B weighted fits, solved together by Newton's method
in numpy, each started from the full data's fit — all three figures' intervals for 5,000 prompts in 1.6 s
on the 2-core EPYC (bench/lineage_eval.py), where a scikit-learn fit per resample takes minutes.

Unpenalised except for a ridge of 1e-6 on the slopes, which only matters where the likelihood has no
maximum (a resample whose covariate is constant, or separated by it); the point estimates keep their
undefined cases (see `controlled`) and match the unpenalised fit to about 1e-6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RESAMPLES = 2000
SEED = 0
RIDGE = 1e-6
STEPS = 100
MAX_CELLS = 2_000_000  # resamples × prompts solved at once: bounds the memory of a large eval


def fit_at_zero(covariates: Any, scores: Any, counts: Any, start: Any = None) -> Any:
    """P(B wins | every covariate 0) for each row of `counts` (multiplicities of the prompts).

    covariates: (prompts, k), scores: (prompts,), counts: (fits, prompts). Returns (fits,). `start` (the
    full data's coefficients) starts every fit near its answer: a resample's fit is then two or three
    Newton steps away.
    """
    import numpy as np

    x = np.column_stack([np.ones(len(scores)), covariates])
    beta = np.zeros((counts.shape[0], x.shape[1])) if start is None else np.tile(start, (counts.shape[0], 1))
    beta = _newton(x, np.asarray(scores, dtype=float), counts, beta)
    return 1 / (1 + np.exp(-np.clip(beta[:, 0], -40, 40)))


def coefficients(covariates: Any, scores: Any) -> Any:
    """The full data's fit: intercept first, then one slope per covariate."""
    import numpy as np

    x = np.column_stack([np.ones(len(scores)), covariates])
    return _newton(x, np.asarray(scores, dtype=float), np.ones((1, len(scores))), np.zeros((1, x.shape[1])))[0]


def _newton(x: Any, scores: Any, counts: Any, beta: Any) -> Any:
    """Newton's method on every fit at once. A fit stops when its step is below 1e-9, or when it runs off
    to a separation (an intercept past ±30: a rate of 0 or 1 to nine decimals)."""
    import numpy as np

    k = x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(scores), k * k)  # the Hessian as one matrix product
    penalty = np.diag([1e-12, *([RIDGE] * (k - 1))])
    active = np.arange(counts.shape[0])
    for _ in range(STEPS):
        c, b = counts[active], beta[active]
        p = 1 / (1 + np.exp(-np.clip(b @ x.T, -40, 40)))
        gradient = (c * (scores - p)) @ x - b @ penalty
        hessian = ((c * p * (1 - p)) @ outer).reshape(-1, k, k) + penalty
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        step *= np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-300))
        beta[active] = b + step
        going = (np.abs(step).max(axis=1) >= 1e-9) & (np.abs(beta[active, 0]) < 30)
        active = active[going]
        if not len(active):
            break
    return beta


Covariates = Mapping[str, Sequence[float]]  # name → one value per prompt


def varying(columns: Covariates) -> Covariates:
    """The covariates that vary over the data: one constant over every prompt has no effect to control for
    (its rate at 0 would be an extrapolation along nothing), so it is left out."""
    return {name: values for name, values in columns.items() if len(set(values)) > 1}


def controlled(columns: Covariates, scores: Sequence[float]) -> float | None:
    """The controlled win rate on the data itself: None when undefined (fewer than 2 pairs, one side wins
    every pair, or no covariate given)."""
    import numpy as np

    if len(scores) < 2 or not columns or all(s == 1 for s in scores) or all(s == 0 for s in scores):
        return None
    x = np.column_stack([np.asarray(values, dtype=float) for values in columns.values()])
    return float(fit_at_zero(x, np.asarray(scores, dtype=float), np.ones((1, len(scores))))[0])


def intervals(
    scores: Sequence[float],
    models: Mapping[str, Covariates | None],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = 0.95,
) -> dict[str, list[float] | None]:
    """Percentile intervals over `resamples` bootstrap resamples of the prompts, the same resamples for
    every figure: "raw" (the mean score) and each controlled model (None: that figure is undefined)."""
    import numpy as np

    n = len(scores)
    if n == 0:
        return {"raw": None, **dict.fromkeys(models)}
    y = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n, size=(resamples, n)) + n * np.arange(resamples)[:, None]
    counts = np.bincount(drawn.ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)
    tails = [100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2]
    found: dict[str, list[float] | None] = {"raw": _percentiles(counts @ y / n, tails)}
    block = max(1, MAX_CELLS // n)
    for name, columns in models.items():
        if not columns:
            found[name] = None
            continue
        x = np.column_stack([np.asarray(values, dtype=float) for values in columns.values()])
        start = coefficients(x, y)
        rates = np.concatenate([fit_at_zero(x, y, counts[i : i + block], start) for i in range(0, resamples, block)])
        found[name] = _percentiles(rates, tails)
    return found


def _percentiles(values: Any, tails: list[float]) -> list[float]:
    import numpy as np

    low, high = np.percentile(values, tails)
    return [round(float(low), 6), round(float(high), 6)]
