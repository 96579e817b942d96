"""Each signal's label, its reference value and when the report marks it: one table for page and stderr.

The numbers come from the sources docs/report.md cites (AlpacaEval's length study, Singhal et al.'s study of
length in preference data, Arena-Hard-Auto's style control, the Constitutional AI paper, judge-bias studies);
they are rules of thumb to look closer, not verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Figures = Mapping[str, Any]


@dataclass(frozen=True)
class Signal:
    name: str
    label: str
    reference: str
    warn: Callable[[float, Figures], bool]
    percent: bool = True
    form: str | None = None  # a format spec other than a percentage or 3 decimals, e.g. "+,.0f" for characters

    def shown(self, figures: Figures) -> str:
        value = figures.get(self.name)
        if value is None:
            return "n/a"
        if self.form is not None:
            return format(value, self.form)
        return f"{value:.1%}" if self.percent else f"{value:.3f}"

    def warned(self, figures: Figures) -> bool:
        value = figures.get(self.name)
        return value is not None and self.warn(value, figures)


def _above(limit: float) -> Callable[[float, Figures], bool]:
    return lambda value, figures: value > limit


def _below(limit: float) -> Callable[[float, Figures], bool]:
    return lambda value, figures: value < limit


def _above_other(other: str, gap: float = 0.05) -> Callable[[float, Figures], bool]:
    """Chosen shows the marker clearly more often than rejected: the data teaches it."""
    return lambda value, figures: figures.get(other) is not None and value > figures[other] + gap


def _controlled_gap(value: float, figures: Figures) -> bool:
    raw = figures.get("preference_raw")
    return raw is not None and abs(raw - value) > 0.10


def _never(value: float, figures: Figures) -> bool:
    return False


SIGNALS = (
    Signal(
        "chosen_longer",
        "chosen is the longer side (DPO teaches it)",
        "human-labelled helpfulness data: above chance (Singhal et al. 2023); > 60 % teaches verbosity",
        _above(0.60),
    ),
    Signal("delta_length_median", "median Δlength, chosen − rejected (chars)", "0 = no side", _never, form="+,.0f"),
    Signal(
        "length_bias", "judge prefers the longer side", "humans 64 % (AlpacaEval); > 70 % length-biased", _above(0.70)
    ),
    Signal(
        "length_margin_spearman",
        "Spearman ρ of margin with Δlength",
        "≈ 0 length-blind; > 0.3 margin follows length",
        _above(0.3),
        percent=False,
    ),
    Signal("preference_raw", "judge prefers chosen (raw)", "share of judged pairs, ties left out", _never),
    Signal(
        "preference_length_controlled",
        "… at Δlength = 0 (length-controlled)",
        "logistic fit; a gap > 10 points to raw = length drives it",
        _controlled_gap,
    ),
    Signal(
        "chosen_more_markdown",
        "chosen has more markdown",
        "50 % no side; > 60 % teaches formatting",
        _above(0.60),
    ),
    Signal("markdown_density_chosen", "markdown in chosen, per 1,000 chars", "compare: rejected", _never, form=".2f"),
    Signal("markdown_density_rejected", "markdown in rejected, per 1,000 chars", "", _never, form=".2f"),
    Signal(
        "preference_style_controlled",
        "… at Δlength = Δmarkdown = 0",
        "Arena-Hard-Auto's style control; a gap > 10 points to raw = style drives it",
        _controlled_gap,
    ),
    Signal("position_inconsistent", "orders disagree", "0 position-blind; > 20 % follows position", _above(0.20)),
    Signal(
        "first_wins_inconsistent",
        "first option wins, when orders disagree",
        "50 % no side; far from it = primacy/recency bias",
        lambda v, f: abs(v - 0.5) > 0.2,
    ),
    Signal(
        "refusal_chosen", "chosen refuses", "compare: rejected refuses (next line)", _above_other("refusal_rejected")
    ),
    Signal("refusal_rejected", "rejected refuses", "", _never),
    Signal("moralising_chosen", "chosen moralises", "compare: rejected moralises", _above_other("moralising_rejected")),
    Signal("moralising_rejected", "rejected moralises", "", _never),
    Signal("drift_chosen", "chosen off the prompt", "compare: rejected off the prompt", _above_other("drift_rejected")),
    Signal("drift_rejected", "rejected off the prompt", "", _never),
    Signal("truncated_chosen", "chosen cut at max_tokens", "0; > 5 % teaches truncation", _above(0.05)),
    Signal("truncated_rejected", "rejected cut at max_tokens", "", _never),
    Signal(
        "truncated_critiques", "critiques cut at max_tokens", "> 20 %: revisions follow half a critique", _above(0.2)
    ),
    Signal("repetitive_chosen", "chosen repeats itself", "> 30 % repeated 3-grams; 0 expected", _above(0.05)),
    Signal("empty_side", "a side is empty", "0", _above(0.0)),
    Signal("near_duplicate", "sides nearly identical", "> 5 %: pairs that teach little", _above(0.05)),
    Signal("duplicate_pairs", "pair repeats an earlier one", "0; > 1 %: repeats weigh double", _above(0.01)),
    Signal("self_preference", "judge wrote a side", "0 independent judge; self-preference inflates it", _above(0.5)),
    Signal("label_agreement", "judge agrees with the rows' labels", "≥ 70 % to trust as labels", _below(0.70)),
    Signal("agreement", "judge agrees with human review", "≥ 70 % (ties excluded)", _below(0.70)),
    Signal("kappa", "Cohen's κ judge vs humans", "> 0.4 moderate, > 0.6 substantial", _below(0.4), percent=False),
    Signal("ece", "calibration error (ECE)", "< 0.1 well calibrated", _above(0.1), percent=False),
)
