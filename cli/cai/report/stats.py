"""The statistics of the length and style signals, from scipy and scikit-learn rather than by hand.

Both are imported here, inside the functions, so `cai --help` and the engine path never load them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from importlib import import_module
from typing import Any

LENGTH_UNIT = 100.0  # Δlength enters the regression in units of 100 characters


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Rank correlation of margin with Δlength; None with fewer than 3 pairs or a constant column."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    rho = float(_module("scipy.stats").spearmanr(x, y).statistic)
    return None if math.isnan(rho) else rho


def length_controlled(delta: Sequence[float], prefers_a: Sequence[int]) -> tuple[float, float] | None:
    """P(judge prefers a | Δlength = 0) and the log-odds per 100 characters, from a logistic regression.

    Unpenalised (C = ∞), so it is the maximum-likelihood fit a hand computation gives; None when
    the fit is undefined: fewer than 2 pairs, one outcome only, or Δlength constant.
    """
    fitted = controlled_preference([(delta, LENGTH_UNIT)], prefers_a)
    return None if fitted is None else (fitted[0], fitted[1][0])


def style_controlled(
    delta: Sequence[float], markdown_delta: Sequence[float], prefers_a: Sequence[int]
) -> tuple[float, float, float] | None:
    """P(judge prefers a | Δlength = 0 and Δmarkdown density = 0), with the log-odds per 100 characters and
    per markdown element per 1,000 characters: Arena-Hard-Auto's style control on cai's two style covariates.
    None when undefined (as `length_controlled`, or both sides without any markdown difference)."""
    fitted = controlled_preference([(delta, LENGTH_UNIT), (markdown_delta, 1.0)], prefers_a)
    return None if fitted is None else (fitted[0], fitted[1][0], fitted[1][1])


def controlled_preference(
    covariates: Sequence[tuple[Sequence[float], float]], prefers_a: Sequence[int]
) -> tuple[float, list[float]] | None:
    """Unpenalised logistic regression of "prefers a" on the covariates (each a column and the unit it is
    counted in), read where every covariate is 0: (sigmoid(intercept), slopes per unit). None with fewer than
    2 pairs, one outcome only, a constant column — or when the covariates separate the outcomes (the fit
    predicts every pair right): then no maximum-likelihood fit exists, and the optimiser's last step, often
    0 % or 100 % at zero deltas, would be reported as if it were a measurement."""
    if len(prefers_a) < 2 or len(set(prefers_a)) < 2 or any(len(set(column)) < 2 for column, _ in covariates):
        return None
    import numpy as np

    x = np.column_stack([np.asarray(column, dtype=float) / unit for column, unit in covariates])
    y = np.asarray(prefers_a, dtype=int)
    model = _module("sklearn.linear_model").LogisticRegression(C=math.inf, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separable data: the fit still returns, its slopes just grow
        model.fit(x, y)
    if bool((model.predict(x) == y).all()):
        return None
    intercept = float(model.intercept_[0])
    return 1 / (1 + math.exp(-intercept)), [float(value) for value in model.coef_[0]]


def _module(name: str) -> Any:
    """scipy and scikit-learn ship no type information; imported by name, they are typed as Any."""
    return import_module(name)


def median_difference(a: Sequence[float], b: Sequence[float]) -> float | None:
    """The median of a − b, pair by pair (Δlength = chars(chosen) − chars(rejected)); None without pairs."""
    if not a:
        return None
    import numpy as np

    return float(np.median(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)))
