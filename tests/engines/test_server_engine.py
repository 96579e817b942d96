"""ServerEngine against fake OpenAI-compatible servers: wire format, retries, failover, exactly-once tickets."""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Iterator

import pytest

from cai.engines import Request
from cai.engines.pool import Readmission
from cai.engines.server import ServerEngine, ServerSettings
from cai.errors import EngineError
from tests.fake_openai import FakeServer

OPTIONS = {"role": "user", "content": "Options:\n(A) good\n(B) bad\n"}
QUICK_RETURN = Readmission(first_wait=0.05, max_wait=0.2, give_up_after=0.5)
FAST = ServerSettings(
    concurrency=8, timeout=1.0, connect_timeout=1.0, retries=3, backoff=0.01, eject_after=3, readmission=QUICK_RETURN
)


def ask(text: str, affinity: int | None = None, **extra: object) -> Request:
    return Request(messages=({"role": "user", "content": text},), max_tokens=8, affinity=affinity, **extra)  # type: ignore[arg-type]


@pytest.fixture
def servers() -> Iterator[list[FakeServer]]:
    started = [FakeServer().start() for _ in range(3)]
    yield started
    for server in started:
        server.kill()


def engine_on(servers: list[FakeServer], settings: ServerSettings = FAST) -> ServerEngine:
    notes: list[str] = []
    engine = ServerEngine([s.url for s in servers], "fake-served", 100_000, settings, note=notes.append)
    engine.notes = notes  # type: ignore[attr-defined]
    return engine


def collect_all(engine: ServerEngine, tickets: list[int]) -> dict[int, str]:
    results: dict[int, str] = {}
    while len(results) < len(tickets):
        for ticket, generation in engine.collect():
            assert ticket not in results, "a ticket came back twice"
            results[ticket] = generation.text
    return results


def test_sends_the_fields_vllm_reads(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:1])
    try:
        judge = Request(
            messages=(
                {"role": "user", "content": "Options:\n(A) good\n(B) bad\n"},
                {"role": "assistant", "content": "("},
            ),
            max_tokens=1,
            seed=7,
            logprobs=20,
            continue_final=True,
        )
        scored = ask("rate it", json_schema={"type": "object"}, seed=3)
        first, second = engine.generate([judge, scored])
    finally:
        engine.close()
    bodies = servers[0].bodies  # the two requests travel at once: find each by its seed, not by arrival
    (read,) = [body for body in bodies if body["seed"] == 7]
    (rated,) = [body for body in bodies if body["seed"] == 3]
    assert read["continue_final_message"] is True and read["add_generation_prompt"] is False
    assert read["logprobs"] is True and read["top_logprobs"] == 20
    assert rated["structured_outputs"] == {"json": {"type": "object"}}
    assert not any("guided_json" in body for body in bodies)
    assert first.logprobs is not None and set(first.logprobs[0]) >= {"A", "B"}
    assert json.loads(second.text)["score"] == 7


def test_prompt_logprobs_and_token_ids_come_back(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:1])
    try:
        messages = (
            {"role": "user", "content": "Options:\n(A) good\n(B) bad\n"},
            {"role": "assistant", "content": "(A"},
        )
        request = Request(messages=messages, max_tokens=1, continue_final=True, prompt_logprobs=True)
        (generation,) = engine.generate([request])
    finally:
        engine.close()
    assert servers[0].bodies[0]["return_token_ids"] is True and servers[0].bodies[0]["prompt_logprobs"] == 0
    assert generation.prompt_logprobs is not None and generation.prompt_logprobs[0] is None
    assert len(generation.prompt_logprobs) == len(generation.prompt_token_ids) > 0
    assert generation.prompt_logprobs[-1] == pytest.approx(math.log(0.8))


def test_prompt_tokens_use_the_servers_tokenizer(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:1])
    try:
        assert engine.prompt_tokens([{"role": "user", "content": "one two three"}]) == 3
    finally:
        engine.close()


@pytest.mark.parametrize("fault", ["503", "500", "drop", "malformed", "slow:3"])
def test_a_failed_attempt_is_retried_and_every_ticket_comes_back_once(servers: list[FakeServer], fault: str) -> None:
    servers[0].faults = deque([fault, fault])
    engine = engine_on(servers[:1])
    try:
        tickets = engine.submit([ask(f"q{i}") for i in range(6)])
        results = collect_all(engine, tickets)
    finally:
        engine.close()
    assert sorted(results) == tickets
    assert all(results[t] == f"initial answer to q{i}" for i, t in enumerate(tickets))
    assert servers[0].chat_requests == 8  # two failed attempts, then each request once


def test_a_records_requests_stay_on_one_server_and_new_records_spread(servers: list[FakeServer]) -> None:
    engine = engine_on(servers)
    try:
        for _ in range(3):  # three waves, as a record's stages
            engine.generate([ask(f"record {record}", affinity=record) for record in range(6)])
    finally:
        engine.close()
    where: dict[str, set[int]] = {}
    for index, server in enumerate(servers):
        for body in server.bodies:
            where.setdefault(body["messages"][0]["content"], set()).add(index)
    assert all(len(found) == 1 for found in where.values()), where
    assert all(len(s.bodies) == 6 for s in servers)  # 6 records, 3 servers, 3 requests each: 2 records apiece


def test_a_dead_server_is_taken_out_and_its_requests_go_elsewhere(servers: list[FakeServer]) -> None:
    engine = engine_on(servers)
    try:
        engine.generate([ask(f"warm {i}", affinity=i) for i in range(6)])
        servers[1].kill()
        tickets = engine.submit([ask(f"q{i}", affinity=i) for i in range(30)])
        results = collect_all(engine, tickets)
        assert engine.servers[1].alive is False
    finally:
        engine.close()
    assert len(results) == 30 and all(results[t] == f"initial answer to q{i}" for i, t in enumerate(tickets))
    assert any("taken out" in note and servers[1].url in note for note in engine.notes)  # type: ignore[attr-defined]


def test_a_server_that_comes_back_is_readmitted_and_takes_work_again(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:2])
    try:
        servers[1].kill()
        first = engine.submit([ask(f"q{i}", affinity=i) for i in range(10)])
        results = collect_all(engine, first)
        assert engine.servers[1].alive is False
        servers[1].revive()
        deadline = time.monotonic() + 10
        while not engine.servers[1].alive:
            assert time.monotonic() < deadline, engine.notes  # type: ignore[attr-defined]
            time.sleep(0.05)
        later = engine.submit([ask(f"r{i}", affinity=100 + i) for i in range(10)])
        results.update(collect_all(engine, later))
        report = {entry["name"]: entry for entry in engine.backends_report()}
    finally:
        engine.close()
    assert sorted(results) == first + later  # every ticket once
    assert any("re-admitted" in note and servers[1].url in note for note in engine.notes)
    back = report[servers[1].url]
    assert back["taken_out"] == 1 and back["readmitted"] == 1 and back["requests_since_readmitted"] >= 1
    assert len(servers[1].bodies) >= 1 and all(body["messages"][0]["content"][0] == "r" for body in servers[1].bodies)


def test_no_server_left_is_an_engine_error_that_says_rerun(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:2])
    try:
        for server in servers[:2]:
            server.kill()
        engine.submit([ask("q")])
        with pytest.raises(EngineError, match=r"every server was taken out.*rerun"):
            engine.collect()
    finally:
        engine.close()


def test_a_refused_request_is_a_clear_error_not_a_retry(servers: list[FakeServer]) -> None:
    servers[0].faults = deque(["400"])
    engine = engine_on(servers[:1])
    try:
        engine.submit([ask("q")])
        with pytest.raises(EngineError, match=r"refused a request: HTTP 400: .*scripted 400"):
            engine.collect()
    finally:
        engine.close()
    assert servers[0].chat_requests == 1


def test_collect_with_nothing_in_flight_is_an_error(servers: list[FakeServer]) -> None:
    engine = engine_on(servers[:1])
    try:
        with pytest.raises(EngineError, match="no request in flight"):
            engine.collect()
    finally:
        engine.close()
