"""ReplicaHost in this process (no Ray): concurrent calls join one engine's batches; a broken engine ends the host."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from cai.engines import Generation, Request
from cai.engines.replica import ReplicaHost
from tests.fakes import ScriptedEngine


class SteppedEngine(ScriptedEngine):
    """The scripted engine with vLLM's step: each step answers what was queued before it, as one batch."""

    fail_on_step: int | None = None
    steps: int = 0

    def step(self) -> list[tuple[int, Generation]]:
        self.steps += 1
        if self.fail_on_step == self.steps:
            raise RuntimeError("the engine core died")
        return self.collect() if self.queued else []


def ask(text: str) -> Request:
    return Request(messages=({"role": "user", "content": text},), max_tokens=8)


def host_of(engine: SteppedEngine, broken: list[bool] | None = None) -> ReplicaHost:
    def factory(path: str, engine_args: Mapping[str, str], label: str) -> SteppedEngine:
        engine.model_name = label
        return engine

    seen = broken if broken is not None else []
    return ReplicaHost(factory, "/models/x", {}, "fake-label", "r0", on_broken=lambda: seen.append(True))


def test_concurrent_calls_are_answered_and_batched_on_one_engine() -> None:
    engine = SteppedEngine()
    host = host_of(engine)

    async def calls() -> tuple[Sequence[Generation], int]:
        answers = await asyncio.gather(*(host.generate(ask(f"q{i}")) for i in range(12)))
        return answers, await host.prompt_tokens([{"role": "user", "content": "one two"}])

    try:
        answers, count = asyncio.run(calls())
        info = asyncio.run(host.ping())
    finally:
        host.close()
    assert [a.text for a in answers] == [f"initial answer to q{i}" for i in range(12)]
    assert count == 2
    assert len(engine.batches) < 12  # calls that arrived together ran together
    assert info.model_name == "fake-label" and info.name == "r0" and info.pid > 0 and info.incarnation


def test_a_failing_step_fails_every_call_and_ends_the_host_for_a_restart() -> None:
    engine = SteppedEngine()
    engine.fail_on_step = 1
    broken: list[bool] = []
    host = host_of(engine, broken)

    async def calls() -> list[BaseException | Generation]:
        return await asyncio.gather(*(host.generate(ask(f"q{i}")) for i in range(3)), return_exceptions=True)

    try:
        outcomes = asyncio.run(calls())
    finally:
        host.close()
    assert broken == [True]
    assert all(isinstance(o, RuntimeError) for o in outcomes)


def test_each_start_has_an_incarnation_of_its_own() -> None:
    first, second = host_of(SteppedEngine()), host_of(SteppedEngine())
    try:
        assert first.info.incarnation != second.info.incarnation
    finally:
        first.close()
        second.close()
