"""Fake replicas for fast tests of ReplicaEngine: the Link protocol on threads, no Ray and no model.

A FakeReplica answers each request from a ScriptedEngine after `latency` seconds. `faults` is a script
consumed one per generate call: "ok"; "die_before" (the replica is already dead when the call arrives);
"die_during" (it dies while the call runs: the call and every other in flight fail); "die_after" (the call
is answered, then the replica dies); "fail" (this call fails, the replica lives: an error worth a retry);
"refuse" (the request's own fault); "hang" (no reply for a long time); "orphan" (no reply until
`fail_orphans()` reports the call lost, as Ray does late for a call whose process died long ago).
A dead replica fails every call and ping until it restarts `restart_after` seconds later with a new
incarnation (None: it never does).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from cai.engines import Generation, Message, Request
from cai.engines.links import Fault, ReplicaInfo
from tests.fakes import ScriptedEngine

_incarnations = itertools.count(1)


class FakeDown(Exception):
    """The replica's process is gone (as Ray's ActorDiedError / ActorUnavailableError)."""


class FakeRefused(Exception):
    """The request itself is bad (as a ValueError raised in the actor)."""


class FakeFailed(Exception):
    """This call failed; the replica lives."""


@dataclass
class FakeReplica:
    name: str
    latency: float = 0.01
    restart_after: float | None = 0.2
    start_error: str | None = None  # the first ping fails with this (the engine could not be built)
    start_delay: float = 0.0
    model_name: str = "fake"
    max_model_len: int = 100_000
    faults: deque[str] = field(default_factory=deque)
    engine: ScriptedEngine = field(default_factory=ScriptedEngine)
    alive: bool = True
    incarnation: int = field(default_factory=lambda: next(_incarnations))
    received: list[Request] = field(default_factory=list)  # every request a generate call carried
    answered: list[Request] = field(default_factory=list)  # the ones answered
    in_flight: int = 0
    most_in_flight: int = 0
    deaths: int = 0
    _calls: set[Future[Any]] = field(default_factory=set)
    _orphans: list[Future[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: float = field(default_factory=time.monotonic)

    # --- Link ---

    def generate(self, request: Request) -> Future[Generation]:
        future: Future[Generation] = Future()
        with self._lock:
            self.received.append(request)
            fault = self.faults.popleft() if self.faults else "ok"
            if fault == "die_before":
                self._die()
            if not self.alive:
                future.set_exception(FakeDown(f"{self.name} is dead"))
                return future
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._calls.add(future)
        if fault == "orphan":
            self._calls.discard(future)
            self._orphans.append(future)
            return future
        delay = 30.0 if fault == "hang" else self.latency
        self._later(delay, lambda: self._finish(future, request, fault))
        if fault == "die_during":
            self._later(self.latency / 2, self.kill)
        return future

    def ping(self) -> Future[ReplicaInfo]:
        future: Future[ReplicaInfo] = Future()
        wait = max(0.0, self._started + self.start_delay - time.monotonic())

        def answer() -> None:
            if self.start_error is not None:
                future.set_exception(FakeRefused(self.start_error))
            elif not self.alive:
                future.set_exception(FakeDown(f"{self.name} is dead"))
            else:
                future.set_result(self.info())

        self._later(wait, answer)
        return future

    def prompt_tokens(self, messages: Sequence[Message]) -> Future[int]:
        future: Future[int] = Future()
        if self.alive:
            future.set_result(self.engine.prompt_tokens(messages))
        else:
            future.set_exception(FakeDown(f"{self.name} is dead"))
        return future

    def fault(self, error: BaseException) -> tuple[Fault, str]:
        if isinstance(error, FakeDown):
            return "down", str(error)
        if isinstance(error, FakeRefused):
            return "refused", str(error)
        return "failed", f"{type(error).__name__}: {error}"

    # --- the fake's own controls ---

    def info(self) -> ReplicaInfo:
        return ReplicaInfo(
            name=self.name,
            placement=f"fake-node-{self.name}",
            pid=1000 + self.incarnation,
            incarnation=str(self.incarnation),
            model_name=self.model_name,
            max_model_len=self.max_model_len,
            dtype="float32",
            dtype_reason="a fake replica",
            load_seconds=0.0,
        )

    def fail_orphans(self) -> None:
        for future in self._orphans:
            future.set_exception(FakeDown(f"{self.name}: the call's process died"))
        self._orphans.clear()

    def kill(self) -> None:
        """Die now: every call in flight fails; it restarts `restart_after` seconds later (if ever)."""
        with self._lock:
            self._die()

    def _die(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.deaths += 1
        for future in list(self._calls):
            if not future.done():
                future.set_exception(FakeDown(f"{self.name} died"))
        self._calls.clear()
        self.in_flight = 0
        if self.restart_after is not None:
            self._later(self.restart_after, self._restart)

    def _restart(self) -> None:
        with self._lock:
            self.alive = True
            self.incarnation = next(_incarnations)

    def _finish(self, future: Future[Generation], request: Request, fault: str) -> None:
        with self._lock:
            if future.done() or future not in self._calls:
                return
            self._calls.discard(future)
            self.in_flight -= 1
            if fault == "refuse":
                future.set_exception(FakeRefused("prompt too long for this engine"))
            elif fault == "fail":
                future.set_exception(FakeFailed("the engine raised"))
            else:
                (generation,) = self.engine.generate([request])
                self.answered.append(request)
                future.set_result(generation)
            if fault == "die_after":
                self._die()

    @staticmethod
    def _later(delay: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        timer.start()
