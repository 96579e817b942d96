"""ReplicaEngine: the engine protocol over replicas, each one cai engine in a process of its own (a Ray actor).

Everything runs on the caller's thread, in `submit` and `collect`: no thread, no locks. Each call to a
replica is a future whose done-callback puts it on one queue that `collect` reads. The pool (shared with
the server engine) keeps a record on its replica (its prefix cache), sends new records to the least-loaded
one, and at most `concurrency` requests are in flight per replica. A replica whose process died is taken
out at once; each request it held is sent again with its ticket and seed, and every ticket comes back
exactly once (a call given up is never read). A replica taken out is pinged with growing waits and
re-admitted when it answers (Ray restarted it); with every replica out too long the run stops (exit 1).
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from cai.engines.links import Call, Fault, Link, Probe, ReplicaInfo, ReplicaSettings, State
from cai.engines.pool import Backend, NoServerLeft, Pool
from cai.engines.protocol import Generation, Message, Request, generate_by_tickets
from cai.errors import EngineError

Note = Callable[[str], None]


class ReplicaEngine:
    def __init__(
        self,
        links: Sequence[Link],
        settings: ReplicaSettings | None = None,
        note: Note | None = None,
        on_close: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not links:
            raise EngineError("no replica to send requests to")
        self.settings = settings or ReplicaSettings()
        self._note = note or (lambda message: None)
        self._on_close = on_close
        self._clock = clock
        self._links = {link.name: link for link in links}
        backends = [Backend(link.name, self.settings.concurrency, kind="replica") for link in links]
        self._pool = Pool(backends, self.settings.eject_after, self.settings.readmission, clock)
        self._state = State(parked={link.name: deque() for link in links})
        self._done: queue.Queue[Future[Any]] = queue.Queue()
        self._incarnations: dict[str, str] = {}
        self._order = itertools.count()
        self._next_ticket = 0
        self._open = 0  # tickets submitted and not yet handed back
        self._swept = clock()
        self.infos: dict[str, ReplicaInfo] = {}
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    # --- the engine protocol ---

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return generate_by_tickets(self, requests, self._state.held)

    def submit(self, requests: Sequence[Request]) -> list[int]:
        tickets = list(range(self._next_ticket, self._next_ticket + len(requests)))
        self._next_ticket += len(requests)
        self._open += len(requests)
        for ticket, request in zip(tickets, requests, strict=True):
            self._dispatch(Call(ticket, request))
        return tickets

    def collect(self) -> list[tuple[int, Generation]]:
        state = self._state
        if state.held:
            done, state.held = state.held, []
            return done
        if self._open == 0:
            raise EngineError("the engine was asked for results but has no request in flight")
        while not state.finished:
            self._tend()
            self._settle_ready(self._wait_for())
        done, state.finished = state.finished, []
        self._open -= len(done)
        return done

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """The replica engine's own count (its tokenizer and chat template), from a live replica."""
        while True:
            for backend in sorted((b for b in self._pool.backends if b.alive), key=lambda b: b.load):
                future = self._links[backend.name].prompt_tokens(messages)
                try:
                    return int(future.result(timeout=self.settings.timeout))
                except Exception as exc:
                    self._failed(backend, exc, epoch=backend.readmitted)
            self._tend()  # none could count: wait for one to come back (or give up)
            self._settle_ready(0.2)

    def close(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def backends_report(self) -> list[dict[str, Any]]:
        """Each replica's placement, requests, restarts and times taken out: for the summary and manifest."""
        return self._pool.report()

    # --- start-up ---

    def _start(self) -> None:
        """Wait for every replica's first answer (placed, model loaded); any that fails to start stops the run."""
        pending = {self._watch(link.ping()): link for link in self._links.values()}
        deadline = self._clock() + self.settings.start_timeout
        errors: list[str] = []
        while pending:
            try:
                future = self._done.get(timeout=max(0.0, min(0.5, deadline - self._clock())))
            except queue.Empty:
                if self._clock() < deadline:
                    continue
                names = ", ".join(sorted(link.name for link in pending.values()))
                raise EngineError(
                    f"replica(s) {names} not ready after {self.settings.start_timeout:.0f} s: the cluster may not "
                    "have the CPUs/GPUs they ask for (--replica-cpus/--replica-gpus), or the model loads slowly"
                ) from None
            link, error = pending.pop(future), future.exception()
            if error is not None:
                errors.append(f"{link.name}: {link.fault(error)[1]}")
            else:
                self._welcome(link.name, future.result())
        if errors:
            raise EngineError("replica(s) failed to start:\n" + "\n".join(errors))
        first = next(iter(self.infos.values()))
        self.model_name, self.max_model_len = first.model_name, first.max_model_len
        self.dtype, self.dtype_reason = first.dtype, f"{first.dtype_reason} (on {first.name})"
        if len({(i.model_name, i.max_model_len) for i in self.infos.values()}) > 1:
            raise EngineError("the replicas hold different models or context lengths; they must be the same")

    def _welcome(self, name: str, info: ReplicaInfo) -> None:
        backend = next(b for b in self._pool.backends if b.name == name)
        known = self._incarnations.get(name)
        if known is not None and known != info.incarnation:
            backend.restarts += 1
        self._incarnations[name] = info.incarnation
        self.infos[name] = info
        backend.placement = info.placement
        if known is None:
            self._note(f"replica {name} ready on {info.placement} (pid {info.pid}, loaded in {info.load_seconds:.0f}s)")

    # --- scheduling ---

    def _dispatch(self, call: Call) -> None:
        try:
            backend = self._pool.pick(call.request.affinity)
        except NoServerLeft:
            self._state.homeless.append(call)
            return
        if backend.busy < backend.cap:
            self._send(call, backend)
        else:
            backend.waiting += 1
            self._state.parked[backend.name].append(call)

    def _send(self, call: Call, backend: Backend) -> None:
        call.tries += 1
        call.backend, call.epoch, call.sent = backend, backend.readmitted, self._clock()
        backend.busy += 1
        self._state.calls[self._watch(self._links[backend.name].generate(call.request))] = call

    def _watch(self, future: Future[Any]) -> Future[Any]:
        future.add_done_callback(self._done.put)
        return future

    def _wait_for(self) -> float:
        retry = self._state.later[0][0] - self._clock() if self._state.later else 0.5
        return max(0.0, min(0.5, retry, self._pool.next_probe_in()))

    def _settle_ready(self, timeout: float) -> None:
        """Settle the first call to finish within `timeout`, then every other one already done."""
        try:
            future = self._done.get(timeout=timeout) if timeout > 0 else self._done.get_nowait()
        except queue.Empty:
            return
        while True:
            self._settle(future)
            try:
                future = self._done.get_nowait()
            except queue.Empty:
                return

    def _tend(self) -> None:
        """Retries whose wait is over, probes that are due, calls and probes with no answer in time."""
        state, now = self._state, self._clock()
        while state.later and state.later[0][0] <= now:
            self._dispatch(heapq.heappop(state.later)[2])
        for backend in self._pool.due():
            state.probes[self._watch(self._links[backend.name].ping())] = Probe(backend, now)
        if state.homeless and self._pool.live:
            homeless, state.homeless = state.homeless, deque()
            for call in homeless:
                self._dispatch(call)
        if not self._pool.live and not state.probes and self._pool.gave_up():  # an unanswered ping may re-admit
            raise EngineError(
                f"every replica was taken out and none answered again in time ({self._pool.describe_failures()}). "
                "Rows finished so far are committed: rerun the same command to resume."
            )
        if now - self._swept >= 1.0:
            self._swept = now
            self._expire(now)

    def _expire(self, now: float) -> None:
        for future, call in list(self._state.calls.items()):
            if now - call.sent > self.settings.timeout:
                del self._state.calls[future]  # given up: a late reply is never read
                self._release(call)
                self._failed(call.backend, TimeoutError("no reply in time"), call.epoch)  # type: ignore[arg-type]
                self._again(call, self.settings.backoff)
        for future, probe in list(self._state.probes.items()):
            if now - probe.sent > self.settings.probe_timeout:
                del self._state.probes[future]
                self._pool.probe_failed(probe.backend, "no answer to a ping in time")

    def _settle(self, future: Future[Any]) -> None:
        state = self._state
        if future in state.probes:
            self._answered(state.probes.pop(future).backend, future)
            return
        call = state.calls.pop(future, None)
        if call is None:
            return  # a call given up earlier, or a start-up ping
        self._release(call)
        error = future.exception()
        if error is None:
            self._pool.succeeded(call.backend)  # type: ignore[arg-type]
            state.finished.append((call.ticket, future.result()))
            return
        kind = self._failed(call.backend, error, call.epoch)  # type: ignore[arg-type]
        self._again(call, 0.0 if kind == "down" else self.settings.backoff * 2 ** (call.tries - 1))

    def _release(self, call: Call) -> None:
        """The call's slot is free: the next request waiting for this replica takes it."""
        backend = call.backend
        assert backend is not None
        backend.busy -= 1
        parked = self._state.parked[backend.name]
        if backend.alive and parked and backend.busy < backend.cap:
            backend.waiting -= 1
            self._send(parked.popleft(), backend)

    def _failed(self, backend: Backend, error: BaseException, epoch: int) -> Fault:
        """Count a failed call against its replica (unless it predates the replica's last restart)."""
        kind, reason = self._links[backend.name].fault(error)
        if kind == "refused":
            raise EngineError(f"replica {backend.name} refused a request: {reason}")
        if epoch != backend.readmitted:
            return kind  # from before its last re-admission: says nothing about the replica now
        taken_out = self._pool.down(backend, reason) if kind == "down" else self._pool.failed(backend, reason)
        if taken_out:
            self._note(f"replica {backend.name} taken out ({reason}); {self._pool.live} left")
            parked = self._state.parked[backend.name]
            while parked:
                backend.waiting -= 1
                self._dispatch(parked.popleft())
        return kind

    def _again(self, call: Call, delay: float) -> None:
        limit = 1 + self.settings.retries + self.settings.eject_after * len(self._pool.backends)
        if call.tries >= limit:
            raise EngineError(f"a request failed {call.tries} times; last: {self._pool.describe_failures()}")
        if delay <= 0:
            self._dispatch(call)
        else:
            due = self._clock() + min(delay, 8.0) * (0.5 + random.random())
            heapq.heappush(self._state.later, (due, next(self._order), call))

    def _answered(self, backend: Backend, future: Future[Any]) -> None:
        """A probe's answer: re-admit the replica if it answered, else wait longer before the next probe."""
        error = future.exception()
        if error is not None:
            self._pool.probe_failed(backend, self._links[backend.name].fault(error)[1])
            return
        restarts = backend.restarts
        self._welcome(backend.name, future.result())
        out = self._pool.readmit(backend)
        how = f"restarted (restart {backend.restarts})" if backend.restarts > restarts else "answers again"
        self._note(f"replica {backend.name} {how} on {backend.placement}: re-admitted after {out:.0f} s out")
