"""One writer per output: a second process on the same `-o` is refused at once, naming the holder.

The lock is an advisory `flock` on `OUT.lock`, which holds the holder's PID. The OS releases it when the
holder exits however it exits (a crash, kill -9), so a stale lock never blocks a rerun; the file is
removed when the holder releases it. A waiter that opened the file just as it was removed would hold a
lock on a file no longer in the folder: after locking, the holder checks that the path still names its
file, and tries again if not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from cai.errors import InputError
from cai.runs.ledger import OutputPaths


@contextlib.contextmanager
def holding(paths: OutputPaths) -> Iterator[None]:
    """Hold the output for the body (stdout: nothing to hold); InputError (exit 2) if another process does."""
    if paths.output is None or paths.lock is None:
        yield
        return
    path = paths.lock
    descriptor = _acquire(path, paths.output)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(descriptor)


def _acquire(path: Path, output: Path) -> int:
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(descriptor)
            os.close(descriptor)
            raise InputError(
                f"{output}: another cai process{holder} is writing this output (lock {path}); two writers would "
                "write every row twice. Wait for it to finish (or stop it), or choose another -o"
            ) from None
        if _same_file(descriptor, path):
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode())
            return descriptor
        os.close(descriptor)  # the file was removed between open and lock: lock the new one


def _holder(descriptor: int) -> str:
    try:
        pid = os.pread(descriptor, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (PID {pid})" if pid.isdigit() else ""


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.fstat(descriptor).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
