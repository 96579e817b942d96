"""flows.drive names each request's record (Request.affinity), subflows included, without changing equality."""

from __future__ import annotations

from cai.engines import Request
from cai.engines.flows import Flow, Parallel, ask, drive
from tests.fakes import ScriptedEngine


def record_flow(name: str) -> Flow:
    yield Request(messages=({"role": "user", "content": f"{name} first"},), max_tokens=4)
    yield Parallel(
        [ask(Request(messages=({"role": "user", "content": f"{name} side {i}"},), max_tokens=4)) for i in range(2)]
    )


def test_every_request_of_a_record_carries_its_affinity() -> None:
    engine = ScriptedEngine()
    list(drive(engine, ((name, record_flow(name)) for name in ("a", "b", "c")), window=2))
    by_record: dict[str, set[int | None]] = {}
    for request in engine.requests:
        by_record.setdefault(request.messages[0]["content"].split()[0], set()).add(request.affinity)
    assert all(len(found) == 1 and None not in found for found in by_record.values())
    assert len({next(iter(found)) for found in by_record.values()}) == 3
    plain = Request(messages=({"role": "user", "content": "x"},), max_tokens=4)
    assert Request(messages=plain.messages, max_tokens=4, affinity=7) == plain
