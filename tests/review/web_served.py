"""A real `cai review serve` process on a free port: for the browser tests and bench/review_load.py.

It is started from this venv's `cai` script with a token file (so a restart after SIGKILL keeps the
same token and the pages' cookies stay valid), on the same port each time; its stderr goes to a log
file beside the review, shown when it fails to start.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

CAI = Path(sys.executable).with_name("cai")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    def __init__(self, review: Path, *options: str, host: str = "127.0.0.1"):
        self.review = review
        self.options = options
        self.host = host
        self.port = free_port()
        self.token = secrets.token_urlsafe(24)
        self.token_file = review.with_name("serve.token")
        self.token_file.write_text(self.token + "\n")
        self.log = review.with_name("serve.log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    def start(self) -> Served:
        command = [str(CAI), "review", "serve", str(self.review), "--host", self.host, "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--token-file", str(self.token_file), *self.options],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"cai review serve exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base + "/", timeout=2).status_code == 401:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"cai review serve did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or a power cut of the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
