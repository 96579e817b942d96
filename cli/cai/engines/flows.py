"""Records advance through the passes on their own: no stage waits for its slowest generation.

Each record's work is a flow, a generator that yields its next Request and is sent the Generation.
`drive` keeps up to `window` flows in flight on one engine, submits each request the moment it
exists and starts the next record as soon as one ends, so the engine's batch stays full across
stages and chunks (a pass-by-pass loop idles while the last long answer of a stage finishes).

A flow may also yield `Parallel(subflows)`: the subflows run side by side and the flow is sent the
list of their return values once all have ended. The judge uses it to ask a pair's remaining
principles at once after the first has put the shared prompt into the prefix cache.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from cai.engines.protocol import Engine, Request

T = TypeVar("T")


@dataclass(frozen=True)
class Parallel:
    """Run these subflows side by side; the yielding flow gets their return values, in order."""

    flows: Sequence[Flow]


Flow = Generator[Request | Parallel, Any, Any]


@dataclass
class _Join:
    parent: _Node
    results: list[Any]
    waiting: int


@dataclass
class _Node:
    """A running flow: a record's own (`item` set) or a subflow of a Parallel (`join` set)."""

    flow: Flow
    item: Any = None
    join: _Join | None = None
    slot: int = 0
    record: int = 0  # the record this flow works for; its subflows share it (Request.affinity)


class _Driver:
    """The flows in flight on one engine: each step of a flow is a request to send, a fork, or its end."""

    def __init__(self) -> None:
        self.in_flight: dict[int, _Node] = {}
        self.outgoing: list[tuple[_Node, Request]] = []
        self.ended: list[Any] = []
        self.running = 0  # records started and not yet ended
        self.started = 0

    def start(self, item: Any, flow: Flow) -> None:
        self.running += 1
        self.started += 1
        self.advance(_Node(flow, item=item, record=self.started), None)

    def advance(self, node: _Node, reply: Any) -> None:
        try:
            step = node.flow.send(reply)
        except StopIteration as stop:
            if node.join is None:
                self.ended.append(node.item)
                self.running -= 1
            else:
                self._finish(node, stop.value)
            return
        if isinstance(step, Parallel):
            self._fork(node, step)
        else:
            self.outgoing.append((node, step if step.affinity is not None else replace(step, affinity=node.record)))

    def _finish(self, node: _Node, value: Any) -> None:
        join = node.join
        assert join is not None
        join.results[node.slot] = value
        join.waiting -= 1
        if join.waiting == 0:
            self.advance(join.parent, join.results)

    def _fork(self, node: _Node, parallel: Parallel) -> None:
        if not parallel.flows:
            self.advance(node, [])
            return
        join = _Join(node, [None] * len(parallel.flows), len(parallel.flows))
        for slot, flow in enumerate(parallel.flows):
            self.advance(_Node(flow, join=join, slot=slot, record=node.record), None)

    def submit(self, engine: Engine) -> None:
        """One submit per round of replies: a batch-only engine sees whole waves."""
        if self.outgoing:
            tickets = engine.submit([request for _, request in self.outgoing])
            self.in_flight.update(zip(tickets, (node for node, _ in self.outgoing), strict=True))
            self.outgoing.clear()


def drive(engine: Engine, flows: Iterable[tuple[T, Flow]], window: int) -> Iterator[T]:
    """Run every flow to its end; yield each flow's item once it has ended, in the order they end."""
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    source = iter(flows)
    driver = _Driver()
    exhausted = False
    while True:
        while driver.running < window and not exhausted:
            started = next(source, None)
            if started is None:
                exhausted = True
            else:
                driver.start(*started)
        driver.submit(engine)
        yield from driver.ended
        driver.ended.clear()
        if not driver.in_flight:  # nothing running: every flow so far has ended
            if exhausted:
                return
            continue
        for ticket, generation in engine.collect():
            driver.advance(driver.in_flight.pop(ticket), generation)


def ask(request: Request) -> Flow:
    """A subflow of one request, returning its Generation: for asking several at once with Parallel."""
    return (yield request)


def in_order(numbered: Iterable[tuple[int, T]]) -> Iterator[T]:
    """Items numbered 0, 1, 2, ... arriving in any order, released in number order."""
    held: dict[int, T] = {}
    following = 0
    for number, item in numbered:
        held[number] = item
        while following in held:
            yield held.pop(following)
            following += 1
