"""The eval's figures, computed from its output rows: win rate with ties, interval, length control, breakdowns.

- win rate of B over A = (B wins + ties / 2) / pairs, as AlpacaEval and MT-Bench count ties;
- its 95 % interval: the Wilson score interval on that count (closed form; a tie varies less than a
  coin, so counting it as half a success keeps the interval conservative);
- length-controlled win rate: a logistic regression of the same outcome (a tie is half a win and half
  a loss, as sample weights) on Δlength = chars(B) − chars(A) per 100 characters, read at Δlength = 0 —
  AlpacaEval's length control with the one length term; with no length effect it equals the raw rate;
- position consistency: the share of pairs whose two orders pick the same side (the judge's reliability);
- per principle (each principle's P(B better) both orders averaged) and per category (when rows carry one).

Everything is a float, an int or None (undefined), so the result is JSON as it is.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cai.report.stats import LENGTH_UNIT

CONFIDENCE = 0.95
SCORE = {"b": 1.0, "tie": 0.5, "a": 0.0}


@dataclass(frozen=True)
class Judged:
    """What the figures need of one output row."""

    winner: str
    p_b: float
    chars_a: int
    chars_b: int
    position_consistent: bool
    category: str | None
    principles: tuple[tuple[str, float], ...]  # (principle, P(B better))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Judged:
        scores, info = row["scores"], row["eval"]
        principles = tuple((p["principle"], 1 - float(p["p_a"])) for p in scores.get("principles") or [])
        return cls(
            winner=info["winner"],
            p_b=float(info["p_b"]),
            chars_a=int(info["a"]["chars"]),
            chars_b=int(info["b"]["chars"]),
            position_consistent=bool(scores["position_consistent"]),
            category=row.get("category"),
            principles=principles,
        )


def wilson(successes: float, trials: int) -> list[float] | None:
    """95 % Wilson score interval for successes / trials (successes may be fractional: ties count half)."""
    if trials == 0:
        return None
    from scipy.stats import norm  # type: ignore[import-untyped]

    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return [max(0.0, centre - half), min(1.0, centre + half)]


def length_controlled(delta: Sequence[float], scores: Sequence[float]) -> float | None:
    """P(B wins | Δlength = 0) from a logistic fit with soft outcomes; None when the fit is undefined.

    Each pair enters twice, as a win weighted by its score and as a loss weighted by 1 − score, which is
    the likelihood of a fractional outcome. Unpenalised, so a hand computation gives the same number.
    Undefined with fewer than 2 pairs, Δlength constant, or every pair won by the same side.
    """
    if len(delta) < 2 or len(set(delta)) < 2 or all(s == 1 for s in scores) or all(s == 0 for s in scores):
        return None
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    x = np.asarray([*delta, *delta], dtype=float).reshape(-1, 1) / LENGTH_UNIT
    y = np.asarray([1] * len(scores) + [0] * len(scores))
    weights = np.asarray([*scores, *(1 - s for s in scores)], dtype=float)
    keep = weights > 0
    model = LogisticRegression(C=math.inf, max_iter=10_000, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separable data: the fit still returns, its slope just grows
        model.fit(x[keep], y[keep], sample_weight=weights[keep])
    return 1 / (1 + math.exp(-float(model.intercept_[0])))


def outcome(pairs: Sequence[Judged]) -> dict[str, Any]:
    """Counts, win rate with ties as half, and its interval, for any subset of pairs."""
    wins = sum(p.winner == "b" for p in pairs)
    ties = sum(p.winner == "tie" for p in pairs)
    n = len(pairs)
    return {
        "pairs": n,
        "b_wins": wins,
        "ties": ties,
        "a_wins": n - wins - ties,
        "win_rate": round((wins + ties / 2) / n, 6) if n else None,
        "ci95": _rounded(wilson(wins + ties / 2, n)),
    }


def figures(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    pairs = [Judged.from_row(row) for row in rows]
    n = len(pairs)
    consistent = [p for p in pairs if p.position_consistent]
    lc = length_controlled([p.chars_b - p.chars_a for p in pairs], [SCORE[p.winner] for p in pairs])
    return {
        **outcome(pairs),
        "length_controlled_win_rate": None if lc is None else round(lc, 6),
        "mean_p_b": round(sum(p.p_b for p in pairs) / n, 6) if n else None,
        "b_longer_share": round(sum(p.chars_b > p.chars_a for p in pairs) / n, 6) if n else None,
        "mean_chars": {
            "a": round(sum(p.chars_a for p in pairs) / n, 1) if n else None,
            "b": round(sum(p.chars_b for p in pairs) / n, 1) if n else None,
        },
        "position_consistency_rate": round(len(consistent) / n, 6) if n else None,
        "position_consistent": outcome(consistent),
        "by_principle": _by_principle(pairs),
        "by_category": {name: outcome(group) for name, group in sorted(_groups(pairs).items())},
    }


def _groups(pairs: Sequence[Judged]) -> dict[str, list[Judged]]:
    groups: dict[str, list[Judged]] = defaultdict(list)
    for pair in pairs:
        if pair.category is not None:
            groups[pair.category].append(pair)
    return groups


def _by_principle(pairs: Sequence[Judged]) -> dict[str, dict[str, Any]]:
    """Per comparison principle: pairs it judged, the share where it preferred B, its mean P(B better)."""
    seen: dict[str, list[float]] = defaultdict(list)
    for pair in pairs:
        for name, p_b in pair.principles:
            seen[name].append(p_b)
    return {
        name: {
            "pairs": len(values),
            "b_preferred": round(sum(v > 0.5 for v in values) / len(values), 6),
            "mean_p_b": round(sum(values) / len(values), 6),
        }
        for name, values in sorted(seen.items())
    }


def _rounded(interval: list[float] | None) -> list[float] | None:
    return None if interval is None else [round(value, 6) for value in interval]
