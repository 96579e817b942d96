"""Progress events the passes emit; the CLI layer turns them into progress bars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StageDone:
    """Progress event: one batched engine call over a chunk finished."""

    stage: str
    round: int
    records: int
    prompt_tokens: int
    output_tokens: int
    length_stops: int


Report = Callable[[StageDone], None]
