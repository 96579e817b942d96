"""Give freed heap memory back to the OS during long runs, so RSS tracks what is in use.

Measured on CPU (bench/results, BENCHMARKS.md): each engine step allocates and frees activation
tensors of varying size; glibc keeps the freed holes, so a run's RSS kept rising by ~60–100 MiB per
64 records although nothing was live. `malloc_trim(0)` returns them. Trimming after every step cost
7 % of throughput (pages are faulted back in), so it runs only once RSS has grown `slack` past the
level the last trim left.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """Current RSS from /proc (Linux); None where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


SLACK_BYTES = 128 * 2**20
SLACK_ENV = "CAI_HEAP_TRIM_SLACK_BYTES"  # bench/memory.py sets it to compare trimming policies


class HeapTrimmer:
    def __init__(self, slack: int | None = None):
        self.slack = int(os.environ.get(SLACK_ENV, SLACK_BYTES)) if slack is None else slack
        self.trims = 0
        self._trim = _malloc_trim()
        self.floor = resident_bytes() or 0

    def check(self) -> None:
        """Cheap (one /proc read) unless RSS grew `slack` past the floor; then trim and reset it."""
        if self._trim is None:
            return
        now = resident_bytes()
        if now is None or now < self.floor + self.slack:
            return
        self._trim(0)
        self.trims += 1
        self.floor = resident_bytes() or now


def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None (musl, macOS, Windows): then nothing is trimmed."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None
