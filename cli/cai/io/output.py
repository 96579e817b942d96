"""Output rows in TRL's conversational preference format, with a `cai` provenance object.

`prompt`, `chosen` and `rejected` are exactly what TRL's DPOTrainer reads; everything cai knows
about how the pair was made (key, constitution hash, model, every round) sits under `cai`, which
TRL ignores (cai.io.formats builds the other --format shapes around the same `cai` object). A record
that does not become a pair (quarantined, or dropped because it carries no preference) becomes a
`Reject` with its key instead, so a resumed run knows it is done.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cai.framing import normalise
from cai.io.records import Reject, truncate
from cai.revise.rounds import Revision


@dataclass(frozen=True)
class Provenance:
    """Run-wide facts stamped on every row."""

    constitution_name: str
    constitution_sha256: str
    model: str
    seed: int
    mode: str


def as_reject(state: Revision) -> Reject | None:
    """The quarantine or drop entry for a record that does not become a pair, else None."""
    raw = state.record.raw()
    if state.quarantine is not None:
        reason, detail = state.quarantine
        return Reject(state.record.line, reason, detail, truncate(raw), state.record.key)
    if normalise(state.current) == normalise(state.initial):
        detail = "the final revision equals the initial response after normalisation"
        return Reject(state.record.line, "unchanged", detail, truncate(raw), state.record.key, kind="dropped")
    return None


def preference_row(state: Revision, provenance: Provenance) -> dict[str, Any]:
    """--format trl (the default): what TRL's DPOTrainer reads."""
    return {
        "prompt": list(state.record.row.conversation()),
        "chosen": [{"role": "assistant", "content": state.current}],
        "rejected": [{"role": "assistant", "content": state.initial}],
        "cai": provenance_object(state, provenance),
    }


def provenance_object(state: Revision, provenance: Provenance) -> dict[str, Any]:
    """The `cai` object of every row format: its `key` is what a resumed run reads back."""
    row = state.record.row
    return {
        "key": state.record.key,
        "id": None if row.id is None else str(row.id),
        "line": state.record.line,
        "constitution": {"name": provenance.constitution_name, "sha256": provenance.constitution_sha256},
        "model": provenance.model,
        "mode": provenance.mode,
        "initial": {"source": state.initial_source, "finish_reason": state.initial_finish_reason},
        "rounds": [r.as_dict() for r in state.rounds],
        **({"judge": state.judge} if state.judge is not None else {}),
        "seed": provenance.seed,
    }


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
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open(self.mode, encoding="utf-8")
        self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows += 1

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
