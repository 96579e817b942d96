"""Ctrl-C and SIGTERM: the first one stops the run cleanly, a second one exits at once.

The first signal raises `Interrupted` wherever the run is (inside a vLLM call too): the chunk in
flight is abandoned, finished chunks are already on disk, and the pipeline writes the manifest
and shuts the engine down on its way out. A second signal during that cleanup ends the process.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from cai.errors import CaiError

SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Interrupted(CaiError):
    def __init__(self, signum: int):
        name = SIGNAL_NAMES.get(signal.Signals(signum), str(signum))
        super().__init__(f"interrupted by {name}; finished rows are saved: rerun the same command to resume")
        self.exit_code = 128 + signum


@contextmanager
def graceful_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        if received:
            os._exit(128 + signum)
        received.append(signum)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handle) for sig in SIGNAL_NAMES}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
