"""From measured pairs to the report's figures: plain numbers under stable names, no HTML.

`Tally.add` folds one pair in and keeps only what the figures need (a few numbers per pair in
typed arrays, counters, per-principle sums), so memory grows by bytes per row, not by rows.
`Tally.result()` returns a `Report`, the single structure the page, the JSON export, the stderr
headline and the gates all read.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import TYPE_CHECKING, Any

from cai.report import stats
from cai.report.measured import Pair
from cai.report.names import FIGURE_NAMES
from cai.report.signals import REPEAT_FLAG

if TYPE_CHECKING:
    from cai.report.flagged import Flagged

Number = float | int | None


@dataclass
class Report:
    """Everything the report shows; `as_dict()` is also the `--json` export."""

    inputs: list[str]
    figures: dict[str, Any]
    per_principle: list[dict[str, Any]]
    length_by_round: list[dict[str, Any]]
    reliability: list[dict[str, Any]] | None
    columns: dict[str, Sequence[float]] = field(repr=False)  # per pair, for the plots only
    examples: dict[str, Flagged] = field(default_factory=dict, repr=False)  # a few pairs per signal, for the page

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "inputs": self.inputs,
            "figures": self.figures,
            "per_principle": self.per_principle,
            "length_by_round": self.length_by_round,
            "reliability": self.reliability,
        }


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


@dataclass
class _Principle:
    pairs: int = 0
    p_a_total: float = 0.0
    drops: int = 0
    revisions: int = 0


class Tally:
    """Streams pairs in; holds counters and, per pair, the few numbers the statistics need."""

    def __init__(self) -> None:
        self.rows = 0
        self.pointwise = 0
        self.count: Counter[str] = Counter()
        self.margin_total = 0.0
        self.len_a, self.len_b = array("l"), array("l")  # every pair
        self.margin, self.delta, self.prefers_a = array("d"), array("d"), array("b")  # judged, not tied
        self.markdown_delta = array("d")  # judged, not tied: markdown density of a minus b
        self.markdown_total = [0.0, 0.0]  # Σ markdown density of a, of b
        self.principles: defaultdict[str, _Principle] = defaultdict(_Principle)
        self.round_chars: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])  # round → [pairs, chars]

    def add_pointwise(self) -> None:
        self.rows += 1
        self.pointwise += 1

    def add(self, pair: Pair) -> None:
        self.rows += 1
        self.len_a.append(pair.len_a)
        self.len_b.append(pair.len_b)
        self._count_flags(pair)
        if pair.judged:
            self._add_judged(pair)
        if pair.rounds:
            self._add_rounds(pair)

    def _count_flags(self, pair: Pair) -> None:
        c = self.count
        c["pairs"] += 1
        for name in ("refusal_a", "refusal_b", "moralising_a", "moralising_b", "empty", "near_duplicate", "duplicate"):
            c[name] += bool(getattr(pair, name))
        for name in ("chosen_longer", "chosen_more_markdown"):
            value = getattr(pair, name)
            if value is not None:
                c[name + ":known"] += 1
                c[name] += value
        self.markdown_total[0] += pair.markdown_a
        self.markdown_total[1] += pair.markdown_b
        c["repetitive_a"] += pair.repetition_a > REPEAT_FLAG
        c["repetitive_b"] += pair.repetition_b > REPEAT_FLAG
        for name in ("drift_a", "drift_b", "truncated_a", "truncated_b", "self_preference", "agrees_with_label"):
            value = getattr(pair, name)
            if value is not None:
                c[name + ":known"] += 1
                c[name] += value
        c["critiques"] += pair.critiques
        c["critiques_cut"] += pair.critiques_cut

    def _add_judged(self, pair: Pair) -> None:
        c = self.count
        c["judged"] += 1
        self.margin_total += pair.margin
        if not pair.position_consistent:
            c["inconsistent"] += 1
            c["first_wins"] += pair.a_first > 0.5
        longer = pair.longer_preferred
        if longer is not None:
            c["length_pairs"] += 1
            c["longer_preferred"] += longer
        if pair.preferred in ("a", "b"):
            self.margin.append(pair.margin)
            self.delta.append(pair.delta_length)
            self.prefers_a.append(pair.preferred == "a")
            self.markdown_delta.append(pair.markdown_a - pair.markdown_b)
        for name, p_a in pair.principles:
            entry = self.principles[name]
            entry.pairs += 1
            entry.p_a_total += p_a
            entry.drops += p_a < 0.5

    def _add_rounds(self, pair: Pair) -> None:
        lengths = [pair.len_b] + [r.revision_chars for r in pair.rounds]
        for index, chars in enumerate(lengths):
            self.round_chars[index][0] += 1
            self.round_chars[index][1] += chars
        for r in pair.rounds:
            if r.principle:
                self.principles[r.principle].revisions += 1

    def result(self, inputs: list[str]) -> Report:
        return Report(
            inputs,
            self._figures(),
            self._per_principle(),
            [
                {"round": index, "pairs": pairs, "mean_chars": chars / pairs}
                for index, (pairs, chars) in sorted(self.round_chars.items())
            ],
            None,
            {"margin": self.margin, "delta_length": self.delta, "len_a": self.len_a, "len_b": self.len_b},
        )

    def _figures(self) -> dict[str, Any]:
        c, pairs, judged = self.count, self.count["pairs"], self.count["judged"]
        controlled = stats.length_controlled(self.delta, self.prefers_a)
        styled = stats.style_controlled(self.delta, self.markdown_delta, self.prefers_a)
        figures: dict[str, Any] = {
            "rows": self.rows,
            "pairs": pairs,
            "pointwise_rows": self.pointwise,
            "judged_pairs": judged,
            "mean_margin": self.margin_total / judged if judged else None,
            "mean_chars_chosen": fmean(self.len_a) if pairs else None,
            "mean_chars_rejected": fmean(self.len_b) if pairs else None,
            "length_bias": _share(c["longer_preferred"], c["length_pairs"]),
            "length_bias_pairs": c["length_pairs"],
            "length_margin_spearman": stats.spearman(self.margin, self.delta),
            "preference_raw": _share(sum(self.prefers_a), len(self.prefers_a)),
            "preference_length_controlled": controlled[0] if controlled else None,
            "length_log_odds_per_100_chars": controlled[1] if controlled else None,
            "chosen_longer": _share(c["chosen_longer"], c["chosen_longer:known"]),
            "chosen_longer_pairs": c["chosen_longer:known"],
            "delta_length_median": stats.median_difference(self.len_a, self.len_b),
            "markdown_density_chosen": self.markdown_total[0] / pairs if pairs else None,
            "markdown_density_rejected": self.markdown_total[1] / pairs if pairs else None,
            "chosen_more_markdown": _share(c["chosen_more_markdown"], c["chosen_more_markdown:known"]),
            "chosen_more_markdown_pairs": c["chosen_more_markdown:known"],
            "preference_style_controlled": styled[0] if styled else None,
            "markdown_log_odds": styled[2] if styled else None,
            "duplicate_pairs": _share(c["duplicate"], pairs),
            "position_inconsistent": _share(c["inconsistent"], judged),
            "first_wins_inconsistent": _share(c["first_wins"], c["inconsistent"]),
            "truncated_critiques": _share(c["critiques_cut"], c["critiques"]),
            "empty_side": _share(c["empty"], pairs),
            "near_duplicate": _share(c["near_duplicate"], pairs),
            "self_preference": _share(c["self_preference"], c["self_preference:known"]),
            "label_agreement": _share(c["agrees_with_label"], c["agrees_with_label:known"]),
        }
        for side, suffix in (("chosen", "a"), ("rejected", "b")):
            for signal in ("refusal", "moralising", "repetitive"):
                figures[f"{signal}_{side}"] = _share(c[f"{signal}_{suffix}"], pairs)
            for signal in ("drift", "truncated"):
                figures[f"{signal}_{side}"] = _share(c[f"{signal}_{suffix}"], c[f"{signal}_{suffix}:known"])
        return {name: figures[name] for name in FIGURE_NAMES}

    def _per_principle(self) -> list[dict[str, Any]]:
        rows = []
        for name, entry in sorted(self.principles.items()):
            rows.append(
                {
                    "principle": name,
                    "pairs": entry.pairs,
                    "mean_margin": 2 * entry.p_a_total / entry.pairs - 1 if entry.pairs else None,
                    "drops": _share(entry.drops, entry.pairs),
                    "revisions": entry.revisions,
                }
            )
        return rows
