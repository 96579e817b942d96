"""Records advance through the passes on their own: no stage waits for its slowest generation.

Each record's work is a flow, a generator that yields its next Request and is sent the Generation.
`drive` keeps up to `window` flows in flight on one engine, submits each request the moment it
exists and starts the next record as soon as one ends, so the engine's batch stays full across
stages and chunks (a pass-by-pass loop idles while the last long answer of a stage finishes).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import TypeVar

from cai.engine import Engine, Generation, Request

T = TypeVar("T")
Flow = Generator[Request, Generation, None]


def drive(engine: Engine, flows: Iterable[tuple[T, Flow]], window: int) -> Iterator[T]:
    """Run every flow to its end; yield each flow's item once it has ended, in the order they end."""
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    source = iter(flows)
    in_flight: dict[int, tuple[T, Flow]] = {}
    outgoing: list[tuple[T, Flow, Request]] = []
    ended: list[T] = []

    def advance(item: T, flow: Flow, reply: Generation | None) -> None:
        try:
            request = flow.send(reply)  # type: ignore[arg-type]  # None starts a fresh generator
        except StopIteration:
            ended.append(item)
            return
        outgoing.append((item, flow, request))

    exhausted = False
    while True:
        while len(in_flight) + len(outgoing) < window and not exhausted:  # the flows still running
            started = next(source, None)
            if started is None:
                exhausted = True
            else:
                advance(*started, None)
        if outgoing:  # one submit per round of replies: a batch-only engine sees whole waves
            tickets = engine.submit([request for _, _, request in outgoing])
            in_flight.update(zip(tickets, ((item, flow) for item, flow, _ in outgoing), strict=True))
            outgoing.clear()
        yield from ended
        ended.clear()
        if not in_flight:  # nothing running: every flow so far has ended
            if exhausted:
                return
            continue
        for ticket, generation in engine.collect():
            item, flow = in_flight.pop(ticket)
            advance(item, flow, generation)


def in_order(numbered: Iterable[tuple[int, T]]) -> Iterator[T]:
    """Items numbered 0, 1, 2, ... arriving in any order, released in number order."""
    held: dict[int, T] = {}
    following = 0
    for number, item in numbered:
        held[number] = item
        while following in held:
            yield held.pop(following)
            following += 1
