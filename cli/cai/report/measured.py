"""One pair's measurements: lengths, the judge's numbers and every reward-hacking flag.

A `Pair` holds only numbers, flags and short names (never the texts), so the report can keep one
per row of a 100k-row file; `flags()` is the row `--flags-out` writes for filtering with jq.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cai.io.pairs import Round
from cai.report import signals

LENGTH_GAP = 30  # sides differing by at most this many characters are "the same length"


@dataclass(slots=True)
class Pair:
    where: str
    id: str | None
    kind: str
    len_a: int  # characters of a = chosen
    len_b: int  # characters of b = rejected
    judged: bool = False
    p_a: float = 0.5
    preferred: str | None = None  # "a", "b", "tie"; None when not judged
    a_first: float = 0.5
    a_second: float = 0.5
    principles: list[tuple[str, float]] = field(default_factory=list)  # comparison principle, its p_a
    rounds: list[Round] = field(default_factory=list)
    truncated_a: bool | None = None
    truncated_b: bool | None = None
    critiques: int = 0
    critiques_cut: int = 0
    refusal_a: bool = False
    refusal_b: bool = False
    moralising_a: bool = False
    moralising_b: bool = False
    drift_a: bool | None = None
    drift_b: bool | None = None
    repetition_a: float = 0.0
    repetition_b: float = 0.0
    empty: bool = False
    near_duplicate: bool = False
    self_preference: bool | None = None
    agrees_with_label: bool | None = None
    labelled: bool = False  # the row says a (chosen) is preferred: what DPO on this file teaches
    markdown_a: float = 0.0  # markdown elements per 1,000 characters (cai.report.style)
    markdown_b: float = 0.0
    duplicate: bool = False  # repeats an earlier pair of the report (same conversation and sides)

    @property
    def margin(self) -> float:
        return 2 * self.p_a - 1

    @property
    def delta_length(self) -> int:
        return self.len_a - self.len_b

    @property
    def position_consistent(self) -> bool:
        return (self.a_first - 0.5) * (self.a_second - 0.5) > 0

    @property
    def longer_preferred(self) -> bool | None:
        """Whether the judge prefers the longer side; None when not judged, a tie, or lengths within 30 chars."""
        if self.preferred not in ("a", "b") or abs(self.delta_length) <= LENGTH_GAP:
            return None
        return (self.preferred == "a") == (self.delta_length > 0)

    @property
    def chosen_longer(self) -> bool | None:
        """Whether the file's chosen side is the longer; None when unlabelled or within 30 characters."""
        if not self.labelled or abs(self.delta_length) <= LENGTH_GAP:
            return None
        return self.delta_length > 0

    @property
    def chosen_more_markdown(self) -> bool | None:
        """Whether the file's chosen side is the more formatted; None when unlabelled or equally formatted."""
        if not self.labelled or self.markdown_a == self.markdown_b:
            return None
        return self.markdown_a > self.markdown_b

    @property
    def more_markdown_preferred(self) -> bool | None:
        """Whether the judge prefers the more formatted side; None when not judged, a tie, or equally formatted."""
        if self.preferred not in ("a", "b") or self.markdown_a == self.markdown_b:
            return None
        return (self.preferred == "a") == (self.markdown_a > self.markdown_b)

    def flags(self) -> dict[str, Any]:
        """The pair's flags as one JSON row (`--flags-out`); a = chosen, b = rejected."""
        cut = self.critiques_cut if self.critiques else None
        return {
            "where": self.where,
            "id": self.id,
            "kind": self.kind,
            "chars_chosen": self.len_a,
            "chars_rejected": self.len_b,
            "chosen_longer": self.chosen_longer,
            "markdown_chosen": round(self.markdown_a, 3),
            "markdown_rejected": round(self.markdown_b, 3),
            "chosen_more_markdown": self.chosen_more_markdown,
            "margin": round(self.margin, 6) if self.judged else None,
            "preferred": self.preferred,
            "longer_preferred": self.longer_preferred,
            "position_consistent": self.position_consistent if self.judged else None,
            "refusal_chosen": self.refusal_a,
            "refusal_rejected": self.refusal_b,
            "moralising_chosen": self.moralising_a,
            "moralising_rejected": self.moralising_b,
            "drift_chosen": self.drift_a,
            "truncated_chosen": self.truncated_a,
            "truncated_rejected": self.truncated_b,
            "critiques_cut": cut,
            "repetitive_chosen": self.repetition_a > signals.REPEAT_FLAG,
            "repetitive_rejected": self.repetition_b > signals.REPEAT_FLAG,
            "empty_side": self.empty,
            "near_duplicate": self.near_duplicate,
            "duplicate_pair": self.duplicate,
            "self_preference": self.self_preference,
        }
