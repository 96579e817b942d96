"""The real engine's step loop: requests finish on their own, and nothing submitted is ever dropped."""

from __future__ import annotations

import pytest

from cai.engines import Engine, Request

pytestmark = pytest.mark.real

STORY = ({"role": "user", "content": "Tell me a long story about a dragon who learns to bake bread."},)


def ask(max_tokens: int, seed: int = 1) -> Request:
    return Request(messages=STORY, max_tokens=max_tokens, temperature=0.0, seed=seed)


def test_a_short_request_comes_back_before_a_long_one_ends(real_engine: Engine) -> None:
    long_ticket, short_ticket = real_engine.submit([ask(24), ask(1)])
    first = real_engine.collect()
    assert [ticket for ticket, _ in first] == [short_ticket]  # no barrier: it did not wait for the long one
    assert first[0][1].output_tokens == 1
    rest = real_engine.collect()  # blocks until something finishes: only the long one is left
    assert [ticket for ticket, _ in rest] == [long_ticket]
    assert rest[0][1].output_tokens > 1


def test_generate_while_requests_are_in_flight_keeps_their_results(real_engine: Engine) -> None:
    (waiting,) = real_engine.submit([ask(16, seed=2)])
    (now,) = real_engine.generate([ask(2, seed=3)])
    assert now.output_tokens == 2
    later = real_engine.collect()
    assert [ticket for ticket, _ in later] == [waiting]
    assert later[0][1].text


def test_submit_and_generate_give_the_same_greedy_answer(real_engine: Engine) -> None:
    (ticket,) = real_engine.submit([ask(8)])
    ((returned, streamed),) = real_engine.collect()
    (batched,) = real_engine.generate([ask(8)])
    assert returned == ticket
    assert streamed.text == batched.text and streamed.prompt_tokens == batched.prompt_tokens


def test_the_engine_runs_in_the_dtype_this_cpu_computes_fastest(real_engine: Engine) -> None:
    from cai.engines.cpu import default_dtype, read_cpu

    expected, why = default_dtype(read_cpu())
    assert real_engine.dtype == expected  # what vLLM actually loaded, not what cai asked for
    assert real_engine.dtype_reason == why


def test_requests_of_records_started_first_are_scheduled_first(real_engine: Engine) -> None:
    """A judge's follow-up questions (an early record) overtake later records' first questions in the queue."""
    config = real_engine._llm.llm_engine.vllm_config.scheduler_config  # type: ignore[attr-defined]
    assert config.policy == "priority"
    words = config.max_num_batched_tokens // 3  # two of these prompts fit one scheduler step, not three
    records = (3, 2, 1)  # submitted last-started first
    requests = [Request(({"role": "user", "content": f"{r} " + "tea " * words},), 1, 0.0, affinity=r) for r in records]
    tickets = dict(zip(real_engine.submit(requests), records, strict=True))
    first_step = {tickets.pop(ticket) for ticket, _ in real_engine.collect()}
    while tickets:  # leave nothing in flight for the next test
        for ticket, _ in real_engine.collect():
            tickets.pop(ticket)
    assert first_step == {1, 2}  # first come, first served would have run records 3 and 2 first
