"""The start-up check of every server, and where server URLs come from."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cai.engines.probe import check_servers, server_urls
from cai.errors import InputError
from tests.fake_openai import FakeServer


@pytest.fixture
def good() -> Iterator[FakeServer]:
    with FakeServer(max_model_len=4096) as server:
        yield server


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_urls_from_flags_file_and_environment(tmp_path: Path) -> None:
    listed = tmp_path / "servers.txt"
    listed.write_text("# replicas\nhttp://127.0.0.1:8001\nhttp://127.0.0.1:8002/v1  # second\n\n")
    flags = ["http://127.0.0.1:8000/", "http://127.0.0.1:8001"]
    assert server_urls(flags, str(listed), {}) == [f"http://127.0.0.1:{port}" for port in (8000, 8001, 8002)]
    env = {"CAI_SERVERS": "http://127.0.0.1:1, http://127.0.0.1:2 http://127.0.0.1:3"}
    assert server_urls([], None, env) == ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
    assert server_urls(["http://127.0.0.1:9"], None, env) == ["http://127.0.0.1:9"]  # flags win
    assert server_urls([], None, {}) == []
    with pytest.raises(InputError, match="expected http://HOST:PORT"):
        server_urls(["127.0.0.1:8000"], None, {})
    with pytest.raises(InputError, match="no such file"):
        server_urls([], str(tmp_path / "missing.txt"), {})


def test_a_good_server_gives_model_and_length(good: FakeServer) -> None:
    fleet = check_servers([good.url], None)
    assert (fleet.model, fleet.max_model_len, fleet.versions) == ("fake-served", 4096, ("0.32.0",))
    assert good.bodies[0]["structured_outputs"] == {"json": {"enum": ["cai-probe-7"]}}


def test_every_bad_server_gets_its_own_line(good: FakeServer) -> None:
    with (
        FakeServer(version="0.8.5") as old,
        FakeServer(ignore_structured=True) as ignoring,
        FakeServer(model="other-model") as other,
    ):
        dead = closed_port()
        with pytest.raises(InputError) as caught:
            check_servers([good.url, old.url, ignoring.url, other.url, dead], "fake-served", timeout=5)
    lines = str(caught.value).splitlines()
    assert lines[0] == "bad server(s), nothing was generated:"
    assert lines[1:] == [
        f"{old.url}: vLLM 0.8.5 is too old: cai needs 0.11.0 or later (structured_outputs)",
        f"{ignoring.url}: ignores structured_outputs (a schema allowing only 'cai-probe-7' got "
        "'Hello there!'): scores would be unconstrained text; use vLLM >= 0.11 without a proxy that drops "
        "unknown fields",
        f"{other.url}: does not serve model 'fake-served' (it serves: other-model)",
        f"{dead}: cannot connect (ConnectError: [Errno 111] Connection refused)",
    ]


def test_servers_that_differ_are_refused(good: FakeServer) -> None:
    with FakeServer(max_model_len=2048) as shorter, pytest.raises(InputError, match="the servers differ"):
        check_servers([good.url, shorter.url], None)
