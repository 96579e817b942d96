"""The start-up check of every server, before any work: one clear line per bad server (exit 2).

Each server must answer /health, report a vLLM version at or above MIN_VLLM on /version, serve the
model the run names on /v1/models (or exactly one model when the run names none), and prove that
it constrains output with `structured_outputs` (a tiny request whose schema allows one string only):
a server that ignores the field would answer with unconstrained text and HTTP 200.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cai.engines.http import version_tuple
from cai.errors import InputError

MIN_VLLM = (0, 11, 0)  # reads `structured_outputs`, `continue_final_message`, `return_token_ids`
SERVERS_ENV = "CAI_SERVERS"
PROBE_ANSWER = "cai-probe-7"


@dataclass(frozen=True)
class Fleet:
    """The servers that passed the check, the model they serve and its context length."""

    urls: tuple[str, ...]
    model: str
    max_model_len: int
    versions: tuple[str, ...]


def server_urls(flags: Sequence[str], servers_file: str | None, environ: dict[str, str] | None = None) -> list[str]:
    """--server URLs, then the file's (one per line, # comments), else CAI_SERVERS (comma or space separated)."""
    urls = [u for flag in flags for u in _split(flag)]
    if servers_file is not None:
        path = Path(servers_file)
        if not path.is_file():
            raise InputError(f"--servers-file {servers_file}: no such file")
        for line in path.read_text(encoding="utf-8").splitlines():
            urls.extend(_split(line.split("#", 1)[0]))
        if not urls:
            raise InputError(f"--servers-file {servers_file}: holds no server URL")
    if not flags and servers_file is None:
        urls = _split((environ if environ is not None else dict(os.environ)).get(SERVERS_ENV, ""))
    bad = [u for u in urls if not re.match(r"^https?://[^/\s]+(/.*)?$", u)]
    if bad:
        raise InputError(f"server URL {bad[0]!r}: expected http://HOST:PORT (e.g. http://127.0.0.1:8000)")
    return list(dict.fromkeys(u.rstrip("/").removesuffix("/v1") for u in urls))


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


def check_servers(urls: Sequence[str], model: str | None, timeout: float = 30.0) -> Fleet:
    """Check every server; InputError listing one line per bad server, or the Fleet."""
    problems: list[str] = []
    found: list[tuple[str, str, int, str]] = []  # url, model, max_model_len, version
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        for url in urls:
            try:
                found.append((url, *_check_one(client, url, model)))
            except _Bad as bad:
                problems.append(f"{url}: {bad}")
    if not problems:
        names = {name for _, name, _, _ in found}
        lengths = {length for _, _, length, _ in found}
        if len(names) > 1 or len(lengths) > 1:
            problems = [f"{url}: serves {name} (max_model_len {length})" for url, name, length, _ in found]
            problems.insert(0, "the servers differ: every server must serve the same model with the same settings")
    if problems:
        raise InputError("bad server(s), nothing was generated:\n" + "\n".join(problems))
    return Fleet(tuple(urls), found[0][1], found[0][2], tuple(v for _, _, _, v in found))


class _Bad(Exception):
    pass


def _check_one(client: httpx.Client, url: str, model: str | None) -> tuple[str, int, str]:
    try:
        health = client.get(f"{url}/health")
        if health.status_code != 200:
            raise _Bad(f"not healthy (GET /health: HTTP {health.status_code})")
        version = _json(client.get(f"{url}/version"), "/version").get("version", "")
        if not isinstance(version, str) or not version_tuple(version):
            raise _Bad("GET /version gives no vLLM version: is this a vLLM server?")
        if version_tuple(version) < MIN_VLLM:
            floor = ".".join(map(str, MIN_VLLM))
            raise _Bad(f"vLLM {version} is too old: cai needs {floor} or later (structured_outputs)")
        served = _json(client.get(f"{url}/v1/models"), "/v1/models").get("data") or []
        cards = {str(card["id"]): card for card in served if isinstance(card, dict) and "id" in card}
        if model is None and len(cards) != 1:
            raise _Bad(f"serves {len(cards)} models ({', '.join(cards) or 'none'}): name one with --model")
        name = model if model is not None else next(iter(cards))
        if name not in cards:
            raise _Bad(f"does not serve model {name!r} (it serves: {', '.join(cards) or 'none'})")
        length = int(cards[name].get("max_model_len") or 0)
        if length <= 0:
            raise _Bad("/v1/models gives no max_model_len for the model: is this a vLLM server?")
        _check_structured_outputs(client, url, name)
        return name, length, version
    except httpx.TimeoutException:
        raise _Bad("no answer in time") from None
    except httpx.HTTPError as exc:
        raise _Bad(f"cannot connect ({type(exc).__name__}: {exc})") from None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise _Bad(f"GET {what}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise _Bad(f"GET {what}: the reply is not JSON") from None
    if not isinstance(data, dict):
        raise _Bad(f"GET {what}: unexpected reply")
    return data


def _check_structured_outputs(client: httpx.Client, url: str, model: str) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 32,
        "temperature": 0.0,
        "structured_outputs": {"json": {"enum": [PROBE_ANSWER]}},
    }
    response = client.post(f"{url}/v1/chat/completions", json=body)
    if response.status_code != 200:
        raise _Bad(f"a structured-outputs request failed: HTTP {response.status_code}: {response.text[:200]}")
    try:
        text = response.json()["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError):
        raise _Bad("a chat completion reply is not the OpenAI shape") from None
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if answer != PROBE_ANSWER:
        raise _Bad(
            f"ignores structured_outputs (a schema allowing only {PROBE_ANSWER!r} got {text[:60]!r}): "
            "scores would be unconstrained text; use vLLM >= 0.11 without a proxy that drops unknown fields"
        )
