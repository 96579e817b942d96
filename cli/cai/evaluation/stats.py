"""The eval's figures, computed from its output rows: win rate with ties, intervals, length and style control,
breakdowns.

- win rate of B over A = (B wins + ties / 2) / pairs, as AlpacaEval and MT-Bench count ties;
- its 95 % intervals: the Wilson score interval on that count (closed form; a tie varies less than a
  coin, so counting it as half a success keeps it conservative), and a bootstrap over prompts
  (cai.evaluation.bootstrap). `win_rate_lower`, what `--min-win-rate-lower` gates on, is the lower of the
  two lower bounds: the bootstrap alone collapses to a point when every prompt goes one way (8 of 8 gives
  [100 %, 100 %]), and Wilson alone ignores nothing the bootstrap sees on the raw rate;
- length-controlled win rate: a logistic regression of the same outcome on Δlength = chars(B) − chars(A)
  per 100 characters, read at Δlength = 0 — AlpacaEval's length control with the one length term; with no
  length effect it equals the raw rate;
- style-controlled win rate: the same with Δmarkdown density (cai.report.style: headers, list items and
  bold per 1,000 characters, B − A) as a second covariate — Arena-Hard-Auto's style control, read at equal
  length and equal formatting; a covariate constant over the data is left out (`style_covariates` names
  the ones used);
- both controlled rates with bootstrap intervals over the same resamples of the prompts;
- position consistency: the share of pairs whose two orders pick the same side (the judge's reliability);
- per principle (each principle's P(B better) both orders averaged) and per category (when rows carry one).

Everything is a float, an int or None (undefined), so the result is JSON as it is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cai.evaluation.bootstrap import RESAMPLES, SEED, controlled, intervals, varying
from cai.report.stats import LENGTH_UNIT
from cai.report.style import density_delta, markdown

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
    markdown_delta: float = 0.0  # the style covariate: markdown density of B − A (cai.report.style)
    density_a: float = 0.0  # markdown elements per 1,000 characters
    density_b: float = 0.0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Judged:
        scores, info = row["scores"], row["eval"]
        principles = tuple((p["principle"], 1 - float(p["p_a"])) for p in scores.get("principles") or [])
        answer_a, answer_b = str(row.get("response_a") or ""), str(row.get("response_b") or "")
        return cls(
            winner=info["winner"],
            p_b=float(info["p_b"]),
            chars_a=int(info["a"]["chars"]),
            chars_b=int(info["b"]["chars"]),
            position_consistent=bool(scores["position_consistent"]),
            category=row.get("category"),
            principles=principles,
            markdown_delta=density_delta(answer_b, answer_a),
            density_a=markdown(answer_a).density,
            density_b=markdown(answer_b).density,
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
    """P(B wins | Δlength = 0) from a logistic fit with soft outcomes; None when the fit is undefined
    (fewer than 2 pairs, Δlength constant, or every pair won by the same side)."""
    return controlled(varying({"length": [d / LENGTH_UNIT for d in delta]}), scores)


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
    return {
        **outcome(pairs),
        **controlled_figures(pairs),
        "mean_p_b": _mean([p.p_b for p in pairs], 6),
        "b_longer_share": _mean([float(p.chars_b > p.chars_a) for p in pairs], 6),
        "mean_chars": {"a": _mean([p.chars_a for p in pairs], 1), "b": _mean([p.chars_b for p in pairs], 1)},
        "mean_markdown_density": {
            "a": _mean([p.density_a for p in pairs], 2),
            "b": _mean([p.density_b for p in pairs], 2),
        },
        "position_consistency_rate": round(len(consistent) / n, 6) if n else None,
        "position_consistent": outcome(consistent),
        "by_principle": _by_principle(pairs),
        "by_category": {name: outcome(group) for name, group in sorted(_groups(pairs).items())},
    }


def controlled_figures(pairs: Sequence[Judged]) -> dict[str, Any]:
    """The bootstrap interval of the raw rate, the gate's lower bound, and the length- and style-controlled
    rates with their intervals — every interval over the same resamples of the prompts."""
    scores = [SCORE[p.winner] for p in pairs]
    length = varying({"length": [(p.chars_b - p.chars_a) / LENGTH_UNIT for p in pairs]})
    style = varying({**length, "markdown": [p.markdown_delta for p in pairs]})
    lc, sc = controlled(length, scores), controlled(style, scores)
    found = intervals(
        scores, {"length": length if lc is not None else None, "style": style if sc is not None else None}
    )
    wilson_interval = outcome(pairs)["ci95"]
    lows = [interval[0] for interval in (wilson_interval, found["raw"]) if interval is not None]
    return {
        "ci95_bootstrap": found["raw"],
        "win_rate_lower": min(lows) if lows else None,
        "length_controlled_win_rate": _round(lc),
        "length_controlled_ci95": found["length"],
        "style_controlled_win_rate": _round(sc),
        "style_controlled_ci95": found["style"],
        "style_covariates": sorted(style),
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "unit": "prompt"},
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _mean(values: Sequence[float], digits: int) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def _rounded(interval: list[float] | None) -> list[float] | None:
    return None if interval is None else [round(value, 6) for value in interval]
