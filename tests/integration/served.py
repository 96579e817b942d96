"""Real `vllm serve` processes on the embedded model, started with `cai model serve` on loopback ports.

Used by the real server tests and bench/servers.py. A server that does not come up fails loudly with
the end of its log; every server is stopped (its whole process group) however the caller ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

KV_CACHE = str(256 * 2**20)  # small: two servers and an in-process engine share this machine
# What an in-process vLLM engine writes into its process's environment: a server started from that process
# must not inherit it (two servers with the same shared-memory names and an in-process engine core ran at a
# tenth of their speed in the test session)
IN_PROCESS_ENGINE_ENV = ("VLLM_ENABLE_V1_MULTIPROCESSING", "VLLM_DIST_IDENT", "VLLM_OBJECT_STORAGE_SHM_BUFFER_NAME")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_seconds: float = 0.0

    def kill(self) -> None:
        """SIGKILL the server and its engine process, as a crashed machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(folder: Path, extra: Sequence[str] = ()) -> Served:
    port = free_port()
    log = folder / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "cai",
        "model",
        "serve",
        "--port",
        str(port),
        "-E",
        f"kv_cache_memory_bytes={KV_CACHE}",
    ]
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        env = {key: value for key, value in os.environ.items() if key not in IN_PROCESS_ENGINE_ENV}
        process = subprocess.Popen(
            [*command, *extra], stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    return Served(f"http://127.0.0.1:{port}", process, log)


def wait_ready(servers: Sequence[Served], timeout: float = 600.0) -> None:
    """Poll /health until every server answers; a server that exits or times out raises with its log."""
    started = time.monotonic()
    waiting = list(servers)
    while waiting:
        for server in list(waiting):
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.url} exited with {server.process.returncode}:\n{server.tail()}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    server.ready_seconds = time.monotonic() - started
                    waiting.remove(server)
            except httpx.HTTPError:
                pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{waiting[0].url} not ready after {timeout:.0f} s:\n{waiting[0].tail()}")
        time.sleep(1)


EARLY: list[Served] = []
EARLY_LOGS: list[Path] = []


def start_early(count: int) -> None:
    """Start servers now so they load while other tests run; `serving` then takes these first.

    Loading two servers takes ~55 s of CPU on two cores; the fast tests before them leave a core idle.
    """
    folder = Path(tempfile.mkdtemp(prefix="cai-test-servers-"))
    EARLY_LOGS.append(folder)
    EARLY.extend(start(folder) for _ in range(count))


def stop_early(keep_logs: bool) -> None:
    """At the session's end: stop servers no test took (deselected or never reached); logs stay on failure."""
    while EARLY:
        EARLY.pop().stop()
    while EARLY_LOGS:
        folder = EARLY_LOGS.pop()
        if not keep_logs:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def serving(count: int, folder: Path) -> Iterator[list[Served]]:
    servers: list[Served] = []
    try:
        servers = [EARLY.pop(0) if EARLY else start(folder) for _ in range(count)]
        wait_ready(servers)
        yield servers
    finally:
        for server in servers:
            server.stop()
