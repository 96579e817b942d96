"""Appending JSON lines durably: every output, rejects file and cache cai writes goes through here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from cai.errors import InputError


class JsonlWriter:
    """Appends JSON lines; `commit` flushes and fsyncs, so a finished chunk survives a crash.

    The file is opened on the first row, so a run with nothing to write creates no file.
    """

    def __init__(self, path: Path | None, append: bool = True):
        self.path = path
        self.mode = "a" if append else "w"
        self.handle: IO[str] | None = sys.stdout if path is None else None
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        if self.handle is None:
            self.handle = self._open()
        self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows += 1

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        """Rows that belong together, in one write: a signal lands before or after them, never between."""
        if self.handle is None:
            self.handle = self._open()
        self.handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        self.rows += len(rows)

    def _open(self) -> IO[str]:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open(self.mode, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def commit(self) -> None:
        if self.handle is None:
            return
        self.handle.flush()
        if self.path is not None:
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.commit()
        if self.handle is not None and self.path is not None:
            self.handle.close()
