"""ReplicaEngine over fake replicas: affinity, slots, and every way a replica can fail, no ticket lost or doubled."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Iterator
from types import FrameType

import pytest

from cai.engines import Request
from cai.engines.links import ReplicaSettings
from cai.engines.pool import Readmission
from cai.engines.replicas import ReplicaEngine
from cai.errors import EngineError
from tests.fake_replicas import FakeReplica

QUICK = ReplicaSettings(
    concurrency=4,
    timeout=2.0,
    retries=3,
    eject_after=3,
    backoff=0.01,
    start_timeout=2.0,
    probe_timeout=1.0,
    readmission=Readmission(first_wait=0.05, max_wait=0.2, give_up_after=0.6),
)


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """A lost ticket would make collect wait forever: fail the test after 20 s instead."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the test did not end in 20 s: a ticket was lost?")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def ask(text: str, record: int) -> Request:
    return Request(messages=({"role": "user", "content": text},), max_tokens=8, seed=record, affinity=record)


def engine_on(replicas: list[FakeReplica], settings: ReplicaSettings = QUICK) -> ReplicaEngine:
    notes: list[str] = []
    engine = ReplicaEngine(replicas, settings, notes.append)
    engine.notes = notes  # type: ignore[attr-defined]
    return engine


def run(engine: ReplicaEngine, requests: list[Request]) -> dict[int, str]:
    """Submit all, collect all: every ticket must come back exactly once, with its own request's answer."""
    tickets = engine.submit(requests)
    results: dict[int, str] = {}
    while len(results) < len(tickets):
        for ticket, generation in engine.collect():
            assert ticket not in results, f"ticket {ticket} came back twice"
            results[ticket] = generation.text
    assert sorted(results) == tickets
    for ticket, request in zip(tickets, requests, strict=True):
        assert results[ticket] == f"initial answer to {request.messages[0]['content']}"
    return results


def wave(prefix: str, records: range) -> list[Request]:
    return [ask(f"{prefix}{record}", record) for record in records]


def test_a_record_stays_on_its_replica_and_slots_are_respected() -> None:
    replicas = [FakeReplica(f"r{i}") for i in range(3)]
    engine = engine_on(replicas)
    for stage in ("a", "b", "c"):  # three stages of the same six records
        run(engine, wave(stage, range(6)))
    where = {
        r.affinity: {rep.name for rep in replicas if any(q.affinity == r.affinity for q in rep.received)}
        for r in wave("a", range(6))
    }
    assert all(len(names) == 1 for names in where.values()), where
    assert sorted(len(r.received) for r in replicas) == [6, 6, 6]
    run(engine, wave("x", range(100, 140)))  # 40 at once: at most `concurrency` in flight on each
    assert max(r.most_in_flight for r in replicas) <= QUICK.concurrency
    assert [entry["requests"] for entry in engine.backends_report()] == [len(r.answered) for r in replicas]


@pytest.mark.parametrize("fault", ["die_before", "die_during", "die_after"])
def test_a_replica_that_dies_loses_and_doubles_nothing(fault: str) -> None:
    replicas = [FakeReplica("r0", restart_after=None), FakeReplica("r1", restart_after=None)]
    engine = engine_on(replicas)
    run(engine, wave("warm", range(4)))
    replicas[0].faults = deque([fault])
    run(engine, wave("q", range(20)))
    assert replicas[0].alive is False
    assert any("replica r0 taken out" in note for note in engine.notes)  # type: ignore[attr-defined]
    for request in replicas[0].received:  # what r0 did not answer was sent again unchanged (seed and all)
        if request not in replicas[0].answered:
            assert request in replicas[1].answered


def test_a_restarted_replica_is_readmitted_and_takes_work_again() -> None:
    replicas = [FakeReplica("r0", restart_after=0.5), FakeReplica("r1")]  # r0 restarts slowly: probes fail first
    engine = engine_on(replicas)
    run(engine, wave("warm", range(4)))
    replicas[0].kill()
    run(engine, wave("q", range(4, 12)))
    deadline = time.monotonic() + 5
    while not any("re-admitted" in note for note in engine.notes):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, engine.notes  # type: ignore[attr-defined]
        run(engine, wave(f"t{time.monotonic()}-", range(1000, 1002)))
        time.sleep(0.05)
    run(engine, wave("later", range(200, 210)))  # new records: r0 has served least, so it gets some
    report = {entry["name"]: entry for entry in engine.backends_report()}
    assert report["r0"]["restarts"] == 1 and report["r0"]["taken_out"] == 1
    assert report["r0"]["requests_since_readmitted"] >= 1
    assert any("restarted (restart 1)" in note for note in engine.notes)  # type: ignore[attr-defined]


def test_a_late_failure_from_before_a_restart_does_not_take_the_replica_out_again() -> None:
    replicas = [FakeReplica("r0", restart_after=0.1), FakeReplica("r1")]
    engine = engine_on(replicas)
    replicas[0].faults = deque(["orphan"])
    lost = engine.submit([ask("lost", 0)])  # record 0 goes to r0 (least served), whose process will die
    replicas[0].kill()
    results = run(engine, [ask("next", 0)])  # record 0 again: r0 is dead, the call fails, r0 is taken out
    deadline = time.monotonic() + 5
    while not replicas[0].alive or not engine.backends_report()[0]["alive"]:
        assert time.monotonic() < deadline
        run(engine, wave(f"t{time.monotonic()}-", range(1000, 1001)))
    replicas[0].fail_orphans()  # now Ray reports the call of the dead process lost
    while lost[0] not in results:
        results.update((ticket, generation.text) for ticket, generation in engine.collect())
    assert engine.backends_report()[0]["taken_out"] == 1  # the restarted replica stays in


def test_a_replica_that_never_restarts_stays_out_and_the_others_finish() -> None:
    replicas = [FakeReplica("r0", restart_after=None), FakeReplica("r1")]
    engine = engine_on(replicas)
    replicas[0].kill()
    run(engine, wave("q", range(12)))
    time.sleep(0.3)  # several probes, all failed
    run(engine, wave("r", range(12, 20)))
    assert replicas[0].answered == [] and len(replicas[1].answered) == 20


def test_no_replica_left_is_an_engine_error_that_says_rerun() -> None:
    replicas = [FakeReplica("r0", restart_after=None), FakeReplica("r1", restart_after=None)]
    engine = engine_on(replicas)
    for replica in replicas:
        replica.kill()
    engine.submit(wave("q", range(3)))
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"every replica was taken out.*rerun"):
        while True:
            engine.collect()
    assert time.monotonic() - started >= QUICK.readmission.give_up_after  # it waited for one to come back


def test_with_every_replica_out_the_run_waits_for_one_to_come_back() -> None:
    replicas = [FakeReplica("r0", restart_after=0.3)]
    patient = Readmission(first_wait=0.05, max_wait=0.2, give_up_after=5.0)  # the restart comes well before
    engine = engine_on(replicas, ReplicaSettings(**{**QUICK.__dict__, "readmission": patient}))
    replicas[0].faults = deque(["die_during"])
    run(engine, wave("q", range(6)))  # all six come back: after the restart, on the same replica
    assert replicas[0].deaths == 1 and len(replicas[0].answered) == 6


def test_a_refused_request_stops_the_run_without_a_retry() -> None:
    replicas = [FakeReplica("r0")]
    engine = engine_on(replicas)
    replicas[0].faults = deque(["refuse"])
    engine.submit(wave("q", range(1)))
    with pytest.raises(EngineError, match="replica r0 refused a request: prompt too long"):
        engine.collect()
    assert len(replicas[0].received) == 1


def test_failed_calls_are_retried_and_three_in_a_row_take_a_replica_out() -> None:
    replicas = [FakeReplica("r0", restart_after=None), FakeReplica("r1")]
    engine = engine_on(replicas)
    replicas[0].faults = deque(["fail"] * 3)
    run(engine, [ask(f"q{i}", 7) for i in range(3)])  # one record: all three start on the same replica
    assert engine.backends_report()[0]["taken_out"] == 1


def test_a_call_with_no_reply_in_time_is_sent_again_and_its_late_reply_never_read() -> None:
    replicas = [FakeReplica("r0"), FakeReplica("r1")]
    engine = engine_on(replicas, ReplicaSettings(**{**QUICK.__dict__, "timeout": 0.3}))
    replicas[0].faults = deque(["hang"])
    run(engine, [ask("slow", 0)])
    assert len(replicas[0].received) + len(replicas[1].received) == 2


def test_a_replica_that_fails_to_start_stops_the_run_with_its_reason() -> None:
    with pytest.raises(EngineError, match="r1: unknown engine argument"):
        engine_on([FakeReplica("r0"), FakeReplica("r1", start_error="unknown engine argument")])


def test_a_replica_never_ready_stops_the_run() -> None:
    settings = ReplicaSettings(**{**QUICK.__dict__, "start_timeout": 0.2})
    with pytest.raises(EngineError, match=r"replica\(s\) r1 not ready after"):
        engine_on([FakeReplica("r0"), FakeReplica("r1", start_delay=5.0)], settings)


def test_prompt_tokens_come_from_a_live_replica() -> None:
    replicas = [FakeReplica("r0", restart_after=None), FakeReplica("r1")]
    engine = engine_on(replicas)
    replicas[0].kill()
    assert engine.prompt_tokens([{"role": "user", "content": "one two three"}]) == 3
    assert engine.model_name == "fake" and engine.max_model_len == 100_000


def test_collect_with_nothing_in_flight_is_an_error() -> None:
    engine = engine_on([FakeReplica("r0")])
    with pytest.raises(EngineError, match="no request in flight"):
        engine.collect()
