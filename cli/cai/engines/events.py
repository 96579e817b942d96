"""Progress events the passes emit; the CLI layer turns them into progress bars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cai.engines.protocol import Generation


@dataclass(frozen=True)
class StageDone:
    """Progress event: generations finished; `records` counts the records the stage is now done with."""

    stage: str
    round: int
    records: int
    prompt_tokens: int
    output_tokens: int
    length_stops: int
    cached_tokens: int = 0


Report = Callable[[StageDone], None]


def done(stage: str, number: int, output: Generation, records: int) -> StageDone:
    """One generation of one record finished (`records` is 0 for a retry of the same record)."""
    return StageDone(
        stage=stage,
        round=number,
        records=records,
        prompt_tokens=output.prompt_tokens,
        output_tokens=output.output_tokens,
        length_stops=int(output.finish_reason == "length"),
        cached_tokens=output.cached_tokens,
    )


def scored(stage: str, output: Generation) -> StageDone:
    """A one-token request read for its log-probs: its 'length' stop is no cut answer."""
    return StageDone(stage, 0, 0, output.prompt_tokens, output.output_tokens, 0, output.cached_tokens)


def skipped(stage: str, number: int) -> StageDone:
    """A record passes a stage without generating (quarantined earlier), so the stage's count still adds up."""
    return StageDone(stage=stage, round=number, records=1, prompt_tokens=0, output_tokens=0, length_stops=0)
