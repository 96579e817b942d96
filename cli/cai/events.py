"""Progress events the passes emit; the CLI layer turns them into progress bars."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cai.engine import Engine, Generation, Request


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


def generate(
    engine: Engine,
    requests: Sequence[Request],
    report: Report,
    stage: str,
    number: int = 0,
    records: int = 0,
    scoring_only: bool = False,
) -> list[Generation]:
    """One batched engine call, reported as a StageDone; `records` counts what the stage finished.

    `scoring_only` calls generate one throw-away token to read prompt log-probs: their 'length'
    stops are not cut answers, so they are not counted as such.
    """
    outputs = engine.generate(requests) if requests else []
    report(
        StageDone(
            stage=stage,
            round=number,
            records=records,
            prompt_tokens=sum(o.prompt_tokens for o in outputs),
            output_tokens=sum(o.output_tokens for o in outputs),
            length_stops=0 if scoring_only else sum(o.finish_reason == "length" for o in outputs),
            cached_tokens=sum(o.cached_tokens for o in outputs),
        )
    )
    return outputs


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


def skipped(stage: str, number: int) -> StageDone:
    """A record passes a stage without generating (quarantined earlier), so the stage's count still adds up."""
    return StageDone(stage=stage, round=number, records=1, prompt_tokens=0, output_tokens=0, length_stops=0)
