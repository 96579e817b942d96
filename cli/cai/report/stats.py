"""The two statistics of the length signal, from scipy and scikit-learn rather than by hand.

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
    if len(delta) < 2 or len(set(prefers_a)) < 2 or len(set(delta)) < 2:
        return None
    import numpy as np

    x = np.asarray(delta, dtype=float).reshape(-1, 1) / LENGTH_UNIT
    model = _module("sklearn.linear_model").LogisticRegression(C=math.inf, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separable data: the fit still returns, its slope just grows
        model.fit(x, np.asarray(prefers_a, dtype=int))
    intercept, slope = float(model.intercept_[0]), float(model.coef_[0][0])
    return 1 / (1 + math.exp(-intercept)), slope


def _module(name: str) -> Any:
    """scipy and scikit-learn ship no type information; imported by name, they are typed as Any."""
    return import_module(name)
