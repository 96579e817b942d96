"""What the page shows of a signal that fires: how many pairs it flagged, and a few of them (cai.report.examples)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    where: str  # file:line
    id: str | None
    prompt: str
    chosen: str
    rejected: str
    note: str  # the pair's numbers: lengths, markdown, margin
    cut: tuple[bool, bool, bool]  # whether prompt, chosen, rejected were shortened


@dataclass(frozen=True)
class Flagged:
    """The pairs one signal flagged: how many, and the few kept to show."""

    count: int
    examples: list[Example]
