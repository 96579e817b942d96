"""ServerEngine: the engine protocol over one or many `vllm serve` servers (OpenAI-compatible API).

`submit` hands requests to an asyncio loop in a background thread (one `httpx.AsyncClient` per server);
`collect` waits on a queue of finished requests. Each ticket comes back exactly once: a retry, on
the same server or another, continues the same ticket, and a late reply to an abandoned attempt
is never read. Scheduling (stickiness, least load, taking a failing server out) is `cai.engines.pool`.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from cai.engines.http import BadReply, chat_body, to_generation
from cai.engines.pool import NoServerLeft, Pool, Server
from cai.engines.protocol import Generation, Message, Request
from cai.errors import EngineError

Note = Callable[[str], None]


@dataclass(frozen=True)
class ServerSettings:
    concurrency: int = 64  # requests in flight per server; vLLM batches them
    timeout: float = 600.0  # seconds for one reply: a long generation on a busy CPU server is slow
    connect_timeout: float = 10.0
    retries: int = 4  # further attempts for one request, besides one per server that may be taken out
    backoff: float = 0.5  # first wait before a retry, in seconds; doubles up to 8 s, with jitter
    eject_after: int = 3  # failures in a row that take a server out for the rest of the run


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
            [Server(url.rstrip("/"), self.settings.concurrency) for url in urls], self.settings.eject_after
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
            server.url: self._call(self._make_client(timeout, limits)) for server in self._pool.servers
        }

    @property
    def servers(self) -> list[Server]:
        return self._pool.servers

    async def _make_client(self, timeout: httpx.Timeout, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, limits=limits)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        tickets = self.submit(requests)
        wanted, results = set(tickets), dict[int, Generation]()
        while len(results) < len(tickets):
            for ticket, generation in self.collect():
                if ticket in wanted:
                    results[ticket] = generation
                else:
                    self._held.append((ticket, generation))
        return [results[t] for t in tickets]

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
        for server in [s for s in self._pool.servers if s.alive]:
            try:
                response = self._sync.post(f"{server.url}/tokenize", json=body)
                if response.status_code == 200:
                    return int(response.json()["count"])
                errors.append(f"{server.url}: HTTP {response.status_code}")
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                errors.append(f"{server.url}: {type(exc).__name__}: {exc}")
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
            task = self._loop.create_task(self._run(ticket, request))
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
        limit = 1 + self.settings.retries + self.settings.eject_after * len(self._pool.servers)
        for attempt in range(1, limit + 1):
            server = self._pool.pick(request.affinity)
            try:
                generation = await self._attempt(server, body, request)
            except _Retry as exc:
                if self._pool.failed(server, str(exc)):
                    live = sum(s.alive for s in self._pool.servers)
                    self._note(f"server {server.url} taken out after {server.failures} failures ({exc}); {live} left")
                await asyncio.sleep(min(self.settings.backoff * 2 ** (attempt - 1), 8.0) * (0.5 + random.random()))
                continue
            self._pool.succeeded(server)
            return generation
        raise EngineError(f"a request failed {limit} times; last: {self._pool.describe_failures()}")

    async def _attempt(self, server: Server, body: dict[str, Any], request: Request) -> Generation:
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
                post = self._clients[server.url].post(f"{server.url}/v1/chat/completions", json=body)
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
            raise EngineError(f"server {server.url} refused a request: HTTP {status}: {response.text[:300]}")
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
            f"every server was taken out ({error}). Rows finished so far are committed: "
            "rerun the same command (with working servers) to resume."
        )
    return EngineError(f"the server engine failed: {type(error).__name__}: {error}")
