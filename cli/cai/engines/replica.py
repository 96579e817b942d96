"""ReplicaHost: one cai engine inside a Ray actor (a replica), fed one request per call.

The driver (`cai.engines.replicas`) calls `generate(request)` once per request, up to its in-flight limit
per replica, and reads each call's result as soon as it is done. The actor is async: every call awaits
a future, while one engine thread alternates between taking the requests that arrived and running one
scheduler step, so a request that arrives while others generate joins the running batch at the next
step, as in-process, where flows submit between steps. The engine is built and stepped on that thread
only; prompts are counted on another, with a tokenizer of their own, so a count never waits for a step.

If a step fails the engine is in an unknown state: the host ends its process, Ray restarts the actor
with a fresh engine, and the driver re-sends the requests that were in flight.

Neither Ray nor vLLM is imported here: Ray wraps the class (`ray.remote`) when cai starts replicas, and
`factory` (in production cai's in-process engine factory, so each replica builds exactly the engine an
in-process run builds, with cai's CPU or GPU defaults) runs inside the actor's process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cai.engines.links import ReplicaInfo
from cai.engines.protocol import Engine, Generation, Message, Request

Factory = Callable[[str, Mapping[str, str], str], Engine]


class ReplicaHost:
    def __init__(
        self,
        factory: Factory,
        path: str,
        engine_args: Mapping[str, str],
        label: str,
        name: str,
        prepare_embedded: bool = False,
        on_broken: Callable[[], None] | None = None,
    ) -> None:
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="cai-engine")
        self._count_thread = ThreadPoolExecutor(1, thread_name_prefix="cai-count")
        self._on_broken = on_broken or _exit_for_restart
        started = time.perf_counter()
        if prepare_embedded and not os.path.isdir(path):  # a node without the driver's cache prepares its own
            path = self._engine_thread.submit(_embedded_folder).result()
        self._engine: Any = self._engine_thread.submit(factory, path, dict(engine_args), label).result()
        counter = getattr(self._engine, "token_counter", None)
        self._count: Callable[[Sequence[Message]], int] = counter() if counter else self._engine.prompt_tokens
        self.info = ReplicaInfo(
            name=name,
            placement=_placement(),
            pid=os.getpid(),
            incarnation=uuid.uuid4().hex[:12],
            model_name=self._engine.model_name,
            max_model_len=int(self._engine.max_model_len),
            dtype=self._engine.dtype,
            dtype_reason=self._engine.dtype_reason,
            load_seconds=round(time.perf_counter() - started, 2),
        )
        self._inbox: list[tuple[Request, asyncio.Future[Generation]]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stepping = False
        self._closed = False

    async def ping(self) -> ReplicaInfo:
        return self.info

    async def generate(self, request: Request) -> Generation:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Generation] = loop.create_future()
        with self._lock:
            self._inbox.append((request, future))
        self._wake.set()
        if not self._stepping:
            self._loop, self._stepping = loop, True
            self._engine_thread.submit(self._run)
        return await future

    async def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return await asyncio.get_running_loop().run_in_executor(self._count_thread, self._count, messages)

    def close(self) -> None:
        """Stop the engine thread (a replica's process is simply ended; this is for hosts in a test)."""
        self._closed = True
        self._wake.set()
        self._engine_thread.shutdown(wait=True)
        self._count_thread.shutdown(wait=True)

    # --- on the engine thread ---

    def _run(self) -> None:
        """Take new requests, step once, hand out what finished; sleep while there is nothing to do."""
        waiting: dict[int, asyncio.Future[Generation]] = {}
        while not self._closed:
            with self._lock:
                arrived, self._inbox = self._inbox, []
                self._wake.clear()
            try:
                if arrived:
                    tickets = self._engine.submit([request for request, _ in arrived])
                    waiting.update(zip(tickets, (future for _, future in arrived), strict=True))
                finished = self._engine.step() if waiting else []
            except Exception as exc:  # the engine is broken: fail what it held, then restart (see the module doc)
                for future in [*waiting.values(), *(f for _, f in arrived)]:
                    self._hand(future, exc)
                self._on_broken()
                return
            for ticket, generation in finished:
                self._hand(waiting.pop(ticket), generation)
            if not waiting:
                self._wake.wait(timeout=1.0)

    def _hand(self, future: asyncio.Future[Generation], outcome: Generation | BaseException) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[Generation], outcome: Generation | BaseException) -> None:
    if future.done():  # the caller went away (cancelled)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _embedded_folder() -> str:
    from cai.engines import model

    return str(model.prepare(lambda message: None).folder)


def _placement() -> str:
    """'ADDRESS node ID' under Ray, else the host name."""
    try:
        import ray

        if ray.is_initialized():
            context = ray.get_runtime_context()
            return f"{ray.util.get_node_ip_address()} node {context.get_node_id()[:8]}"
    except ImportError:
        pass
    return socket.gethostname()


def _exit_for_restart() -> None:
    """End the actor's process as a crash would, so Ray restarts it (an orderly exit would not be restarted)."""
    os._exit(70)
