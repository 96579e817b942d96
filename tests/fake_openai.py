"""A small fake vLLM OpenAI-compatible server on 127.0.0.1 for fast tests and the client-scaling bench.

It answers /health, /version, /v1/models, /tokenize and /v1/chat/completions from a ScriptedEngine
(tests/fakes.py), so cai's flows get the same scripted answers as with the fake engine. `faults` is
a script consumed one per chat request: "503", "500", "400", "drop" (close the connection without a
reply), "malformed" (HTTP 200, not JSON), "slow:SECONDS"; "ok" or an empty script answers normally.
`ignore_structured` answers as a server that drops `structured_outputs`. `rate` (tokens/s) makes the
server produce a fixed number of output tokens per second whatever its concurrency, like a saturated
vLLM replica. `kill()` closes the port and every open connection, as a crashed server would; `revive()`
listens on the same port again, as a restarted one.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cai.engines import Generation, Request
from tests.fakes import ScriptedEngine


@dataclass
class FakeServer:
    model: str = "fake-served"
    max_model_len: int = 100_000
    version: str = "0.32.0"
    engine: ScriptedEngine = field(default_factory=ScriptedEngine)
    faults: deque[str] = field(default_factory=deque)
    ignore_structured: bool = False
    rate: float | None = None  # output tokens per second, shared by all requests in flight
    record: bool = True
    die_after: int | None = None  # chat requests answered before every later one is dropped (and /health fails)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    chat_requests: int = 0
    _busy_until: float = 0.0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.AbstractServer | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> FakeServer:
        """Listen on a free port, on a loop of its own or on `loop` (already running in another thread)."""
        ready = threading.Event()
        if loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True, name=f"fake-openai-{id(self)}").start()
        self._loop = loop

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)  # 0: a free port
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        asyncio.run_coroutine_threadsafe(serve(), loop)
        if not ready.wait(10):
            raise RuntimeError("the fake server did not start")
        return self

    def revive(self) -> FakeServer:
        """Listen again on the same port after `kill`, as a restarted server would."""
        return self.start()

    def kill(self) -> None:
        """Stop listening and cut every connection: later requests get 'connection refused'."""
        if self._loop is None or not self._loop.is_running():
            return

        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def _dead(self) -> bool:
        return self.die_after is not None and self.chat_requests > self.die_after

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path, _ = head[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                reply = await self._route(method, path, json.loads(body) if body else None)
                if reply is None:  # "drop"
                    writer.transport.abort()
                    return
                status, payload = reply
                head_out = (
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
                )
                writer.write(head_out.encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _route(self, method: str, path: str, body: Any) -> tuple[int, bytes] | None:
        if path == "/health":  # a vLLM server whose engine died fails its health check
            return (503, b"") if self._dead else (200, b"")
        if path == "/version":
            return 200, json.dumps({"version": self.version}).encode()
        if path == "/v1/models":
            card = {"id": self.model, "object": "model", "root": "/models/x", "max_model_len": self.max_model_len}
            return 200, json.dumps({"object": "list", "data": [card]}).encode()
        if path == "/tokenize" and method == "POST":
            count = self.engine.prompt_tokens(body["messages"])
            return 200, json.dumps({"count": count, "max_model_len": self.max_model_len, "tokens": []}).encode()
        if path == "/v1/chat/completions" and method == "POST":
            return await self._chat(body)
        return 404, b'{"error": "not found"}'

    async def _chat(self, body: dict[str, Any]) -> tuple[int, bytes] | None:
        self.chat_requests += 1
        if self.record:
            self.bodies.append(body)
        fault = self.faults.popleft() if self.faults else "ok"
        if self._dead:
            fault = "drop"
        if fault.startswith("slow:"):
            await asyncio.sleep(float(fault.split(":", 1)[1]))
        elif fault == "drop":
            return None
        elif fault == "malformed":
            return 200, b'{"choices": [{"message": '
        elif fault in {"400", "500", "503"}:
            return int(fault), json.dumps({"error": {"message": f"scripted {fault}"}}).encode()
        request = _as_request(body)
        generation = self._answer(request)
        if self.rate:
            now = time.monotonic()
            self._busy_until = max(now, self._busy_until) + generation.output_tokens / self.rate
            await asyncio.sleep(self._busy_until - now)
        return 200, json.dumps(_reply(body, generation)).encode()

    def _answer(self, request: Request) -> Generation:
        schema = request.json_schema
        if schema is not None and "enum" in schema:  # the start-up check's structured-outputs probe
            text = "Hello there!" if self.ignore_structured else json.dumps(schema["enum"][0])
            return Generation(text, "stop", 5, 3)
        if schema is not None and self.ignore_structured:
            return Generation("I would rate it highly.", "stop", 5, 5)
        return self.engine._answer(request)


def _as_request(body: dict[str, Any]) -> Request:
    structured = body.get("structured_outputs") or {}
    return Request(
        messages=tuple(body["messages"]),
        max_tokens=body["max_tokens"],
        temperature=body.get("temperature", 1.0),
        top_p=body.get("top_p", 1.0),
        seed=body.get("seed"),
        logprobs=body.get("top_logprobs") if body.get("logprobs") else None,
        continue_final=bool(body.get("continue_final_message")),
        prompt_logprobs=body.get("prompt_logprobs") is not None,
        json_schema=structured.get("json"),
    )


def _reply(body: dict[str, Any], generation: Generation) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": generation.text},
        "finish_reason": generation.finish_reason,
    }
    if generation.logprobs is not None:
        content = []
        for step in generation.logprobs:
            best = max(step, key=lambda token: step[token])
            top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in step.items()]
            content.append({"token": best, "logprob": step[best], "bytes": None, "top_logprobs": top})
        choice["logprobs"] = {"content": content}
    reply: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [choice],
        "usage": {
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.output_tokens,
            "total_tokens": generation.prompt_tokens + generation.output_tokens,
            "prompt_tokens_details": {"cached_tokens": generation.cached_tokens},
        },
    }
    if body.get("return_token_ids"):
        reply["prompt_token_ids"] = list(generation.prompt_token_ids)
    if generation.prompt_logprobs is not None:
        reply["prompt_logprobs"] = [
            None if lp is None else {str(token): {"logprob": lp, "rank": 1, "decoded_token": chr(token)}}
            for token, lp in zip(generation.prompt_token_ids, generation.prompt_logprobs, strict=True)
        ]
    return reply
