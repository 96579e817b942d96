"""Parallel subflows: side by side on the engine, joined in order, counted as one record of the window."""

from __future__ import annotations

from cai.engines import Request
from cai.engines.flows import Flow, Parallel, ask, drive
from tests.fakes import ScriptedEngine


def say(text: str) -> Request:
    return Request(messages=({"role": "user", "content": text},), max_tokens=4)


def record(name: str) -> Flow:
    first = yield say(f"{name} first")
    both = yield Parallel([ask(say(f"{name} left")), ask(say(f"{name} right"))])
    nested = yield Parallel([inner(name)])
    none = yield Parallel([])
    return [first.text, *(g.text for g in both), *nested, none]


def inner(name: str) -> Flow:
    deep = yield say(f"{name} deep")
    return deep.text


def test_parallel_subflows_run_side_by_side_and_join_in_order() -> None:
    engine = ScriptedEngine()
    results: dict[str, list[object]] = {}

    def keep(name: str) -> Flow:
        results[name] = yield from record(name)

    ended = list(drive(engine, ((name, keep(name)) for name in ("r1", "r2")), window=1))
    assert ended == ["r1", "r2"]  # window 1: the second record starts only when the first has ended
    assert [[r.messages[0]["content"] for r in batch] for batch in engine.batches[:3]] == [
        ["r1 first"],
        ["r1 left", "r1 right"],  # one wave: both subflows at once
        ["r1 deep"],
    ]
    assert results["r1"] == [
        "initial answer to r1 first",
        "initial answer to r1 left",
        "initial answer to r1 right",
        "initial answer to r1 deep",
        [],
    ]
