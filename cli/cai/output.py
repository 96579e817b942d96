"""Output rows in TRL's conversational preference format, with a `cai` provenance object.

`prompt`, `chosen` and `rejected` are exactly what TRL's DPOTrainer reads; everything cai knows
about how the pair was made (key, constitution hash, model, every round) sits under `cai`, which
TRL ignores. A pair that carries no preference is dropped with a reason instead of written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cai.framing import normalise
from cai.revise import Revision


@dataclass(frozen=True)
class Provenance:
    """Run-wide facts stamped on every row."""

    constitution_name: str
    constitution_sha256: str
    model: str
    seed: int
    mode: str


def drop_reason(state: Revision) -> str | None:
    if not state.initial:
        return "empty_initial"
    if normalise(state.current) == normalise(state.initial):
        return "unchanged"
    return None


def preference_row(state: Revision, provenance: Provenance) -> dict[str, Any]:
    row = state.record.row
    return {
        "prompt": list(row.conversation()),
        "chosen": [{"role": "assistant", "content": state.current}],
        "rejected": [{"role": "assistant", "content": state.initial}],
        "cai": {
            "key": state.record.key,
            "id": None if row.id is None else str(row.id),
            "line": state.record.line,
            "constitution": {"name": provenance.constitution_name, "sha256": provenance.constitution_sha256},
            "model": provenance.model,
            "mode": provenance.mode,
            "initial": {"source": state.initial_source, "finish_reason": state.initial_finish_reason},
            "rounds": [r.as_dict() for r in state.rounds],
            "seed": provenance.seed,
        },
    }


class RowWriter:
    """Appends JSON lines and flushes after each chunk, so finished rows survive a later failure."""

    def __init__(self, handle: IO[str]):
        self.handle = handle
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows += 1

    def flush(self) -> None:
        self.handle.flush()


@contextmanager
def open_output(destination: str | None) -> Iterator[RowWriter]:
    """'-' or None is stdout; a path is written as a whole new file, its folder created if missing."""
    if destination in (None, "-"):
        yield RowWriter(sys.stdout)
        return
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yield RowWriter(handle)
