"""ServerEngine: the engine protocol over one or many `vllm serve` servers (OpenAI-compatible API).

`submit` hands requests to an asyncio loop in a background thread (one `httpx.AsyncClient` per server);
`collect` waits on a queue of finished requests. Each ticket comes back exactly once: a retry, on
the same server or another, continues the same ticket, and a late reply to an abandoned attempt
is never read. Scheduling (stickiness, least load, taking a failing server out and re-admitting it
once it answers again) is `cai.engines.pool`.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from cai.engines.http import BadReply, chat_body, to_generation
from cai.engines.pool import DEFAULT_READMISSION, Backend, NoServerLeft, Pool, Readmission
from cai.engines.protocol import Generation, Message, Request, generate_by_tickets
from cai.errors import EngineError

Note = Callable[[str], None]


@dataclass(frozen=True)
class ServerSettings:
    concurrency: int = 64  # requests in flight per server; vLLM batches them
    timeout: float = 600.0  # seconds for one reply: a long generation on a busy CPU server is slow
    connect_timeout: float = 10.0
    retries: int = 4  # further attempts for one request, besides one per server that may be taken out
    backoff: float = 0.5  # first wait before a retry, in seconds; doubles up to 8 s, with jitter
    eject_after: int = 3  # failures in a row that take a server out; it is probed again and re-admitted
    readmission: Readmission = DEFAULT_READMISSION  # when a server taken out is probed; how long to wait for one


DEFAULT_SETTINGS = ServerSettings()


class _Retry(Exception):
    """This attempt failed in a way worth retrying (timeout, connection, 5xx, not vLLM's reply)."""


class ServerEngine:
    dtype = "server"
    dtype_reason = "set on each server (vllm serve --dtype)"

    def __init__(
        self,
        urls: Sequence[str],
        model_name: str,
        max_model_len: int,
        settings: ServerSettings | None = None,
        note: Note | None = None,
    ) -> None:
        if not urls:
            raise EngineError("no server to send requests to")
        self.model_name = model_name
        self.max_model_len = max_model_len
        self.settings = settings or DEFAULT_SETTINGS
        self._note = note or (lambda message: None)
        self._pool = Pool(
            [Backend(url.rstrip("/"), self.settings.concurrency) for url in urls],
            self.settings.eject_after,
            self.settings.readmission,
        )
        self._results: queue.Queue[tuple[int, Generation | BaseException]] = queue.Queue()
        self._held: list[tuple[int, Generation]] = []
        self._next_ticket = 0
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        timeout = httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout)
        self._sync = httpx.Client(timeout=timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cai-servers", daemon=True)
        self._thread.start()
        # one connection pool per server, as large as its concurrency: a request never waits inside httpx, and
        # httpcore's pool, which scans its connections for every request, stays small however many servers
        limits = httpx.Limits(max_connections=self.settings.concurrency, max_keepalive_connections=None)
        self._clients: dict[str, httpx.AsyncClient] = {
            server.name: self._call(self._make_client(timeout, limits)) for server in self._pool.backends
        }

    @property
    def servers(self) -> list[Backend]:
        return self._pool.backends

    def backends_report(self) -> list[dict[str, Any]]:
        """Each server's requests and how often it was taken out and came back: for the summary."""
        return self._pool.report()

    async def _make_client(self, timeout: httpx.Timeout, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, limits=limits)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return generate_by_tickets(self, requests, self._held)

    def submit(self, requests: Sequence[Request]) -> list[int]:
        tickets = list(range(self._next_ticket, self._next_ticket + len(requests)))
        self._next_ticket += len(requests)
        self._in_flight += len(requests)
        jobs = list(zip(tickets, requests, strict=True))
        self._loop.call_soon_threadsafe(self._spawn, jobs)
        return tickets

    def collect(self) -> list[tuple[int, Generation]]:
        if self._held:
            done, self._held = self._held, []
            return done
        if self._in_flight == 0:
            raise EngineError("the engine was asked for results but has no request in flight")
        finished: list[tuple[int, Generation | BaseException]] = []
        while not finished:  # short waits, so Ctrl-C is seen; every request ends (timeouts, bounded retries)
            try:
                finished.append(self._results.get(timeout=0.5))
            except queue.Empty:
                continue
        while True:
            try:
                finished.append(self._results.get_nowait())
            except queue.Empty:
                break
        self._in_flight -= len(finished)
        done = []
        for ticket, result in finished:
            if isinstance(result, BaseException):
                raise _as_engine_error(result)
            done.append((ticket, result))
        return done

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Token count after the served model's chat template, from a live server's /tokenize."""
        body = {"model": self.model_name, "messages": list(messages), "add_generation_prompt": True}
        errors = []
        while not self._pool.live and not self._pool.gave_up():  # every server out: wait for one to come back
            time.sleep(0.2)
        for server in [s for s in self._pool.backends if s.alive]:
            try:
                response = self._sync.post(f"{server.name}/tokenize", json=body)
                if response.status_code == 200:
                    return int(response.json()["count"])
                errors.append(f"{server.name}: HTTP {response.status_code}")
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                errors.append(f"{server.name}: {type(exc).__name__}: {exc}")
        raise EngineError(f"no server could count prompt tokens ({'; '.join(errors) or 'none left'})")

    def close(self) -> None:
        if not self._loop.is_running():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._sync.close()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in self._clients.values():
            await client.aclose()

    # --- on the loop thread ---

    def _spawn(self, jobs: list[tuple[int, Request]]) -> None:
        for ticket, request in jobs:
            self._start(self._run(ticket, request))

    def _start(self, coroutine: Any) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, ticket: int, request: Request) -> None:
        try:
            result: Generation | BaseException = await self._request(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to collect, which raises it in the caller's thread
            result = exc
        self._results.put((ticket, result))

    async def _request(self, request: Request) -> Generation:
        body = chat_body(request, self.model_name)
        limit = 1 + self.settings.retries + self.settings.eject_after * len(self._pool.backends)
        for attempt in range(1, limit + 1):
            server = await self._live_server(request.affinity)
            try:
                generation = await self._attempt(server, body, request)
            except _Retry as exc:
                if self._pool.failed(server, str(exc)):
                    live = self._pool.live
                    self._note(f"server {server.name} taken out after {server.failures} failures ({exc}); {live} left")
                    self._start(self._readmit(server))
                await asyncio.sleep(min(self.settings.backoff * 2 ** (attempt - 1), 8.0) * (0.5 + random.random()))
                continue
            self._pool.succeeded(server)
            return generation
        raise EngineError(f"a request failed {limit} times; last: {self._pool.describe_failures()}")

    async def _live_server(self, affinity: int | None) -> Backend:
        """The server for this record; with every server out, wait for one to be re-admitted (or give up)."""
        while True:
            try:
                return self._pool.pick(affinity)
            except NoServerLeft:
                if self._pool.gave_up():
                    raise
                await asyncio.sleep(0.2)

    async def _readmit(self, server: Backend) -> None:
        """Ask a taken-out server again, waiting longer each time, until it answers as before: then it takes work."""
        while not server.alive:
            await asyncio.sleep(max(0.0, server.next_probe - time.monotonic()))
            problem = await self._unhealthy(server)
            if problem is not None:
                self._pool.probe_failed(server, problem)
                continue
            out = self._pool.readmit(server)
            self._note(f"server {server.name} answers again: re-admitted after {out:.0f} s out")

    async def _unhealthy(self, server: Backend) -> str | None:
        """None when the server is healthy and serves the run's model with the same context length."""
        client, wait = self._clients[server.name], self.settings.connect_timeout
        try:
            health = await client.get(f"{server.name}/health", timeout=wait)
            if health.status_code != 200:
                return f"GET /health: HTTP {health.status_code}"
            models = await client.get(f"{server.name}/v1/models", timeout=wait)
            cards = {card.get("id"): card for card in models.json().get("data") or [] if isinstance(card, dict)}
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return f"probe failed ({type(exc).__name__}: {exc})"
        card = cards.get(self.model_name)
        if card is None or int(card.get("max_model_len") or 0) != self.max_model_len:
            return f"no longer serves {self.model_name} with max_model_len {self.max_model_len}"
        return None

    async def _attempt(self, server: Backend, body: dict[str, Any], request: Request) -> Generation:
        server.waiting += 1
        try:
            await server.slots.acquire()
        finally:
            server.waiting -= 1
        try:
            if not server.alive:
                raise _Retry("taken out while the request waited")
            server.busy += 1
            try:
                post = self._clients[server.name].post(f"{server.name}/v1/chat/completions", json=body)
                response = await asyncio.wait_for(post, self.settings.timeout)  # a whole reply, not per read
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise _Retry(f"no reply in time ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise _Retry(f"connection failed ({type(exc).__name__}: {exc})") from exc
            finally:
                server.busy -= 1
        finally:
            server.slots.release()
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise _Retry(f"HTTP {status}")
        if status != 200:
            raise EngineError(f"server {server.name} refused a request: HTTP {status}: {response.text[:300]}")
        try:
            return to_generation(response.json(), request)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise _Retry(f"reply is not JSON ({exc})") from exc
        except BadReply as exc:
            raise _Retry(f"reply is not vLLM's: {exc}") from exc


def _as_engine_error(error: BaseException) -> EngineError:
    if isinstance(error, EngineError):
        return error
    if isinstance(error, NoServerLeft):
        return EngineError(
            f"every server was taken out and none answered again in time ({error}). Rows finished so far are "
            "committed: rerun the same command (with working servers) to resume."
        )
    return EngineError(f"the server engine failed: {type(error).__name__}: {error}")
