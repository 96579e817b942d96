"""A trained model's lineage record: `cai-lineage.json` in its folder, naming the pairs that trained it.

cai does not train (TRL does), so no cai manifest can say what a model folder was trained on. The
training script (or the person who ran it) says so once, after saving the model:

    cai lineage record ./v2 --trained-on pairs.jsonl --base embedded     # or, in the script:
    api.record_lineage("./v2", trained_on=["pairs.jsonl"], base=base_folder)

which writes into the folder

    {"lineage_format": 1, "recorded": "2026-…", "note": "TRL DPOTrainer, 4 steps",
     "model": {"path": "/abs/v2", "sha256": "…", "hash": "cai-folder-1", "files": 7, "bytes": 538…},
     "trained_on": [{"path": "/abs/pairs.jsonl", "sha256": "…", "bytes": 4096}],
     "base": {"label": "…", "kind": "embedded", "path": "…", "sha256": "<GGUF sha256>", "hash": "gguf"}}

The record is not part of the model's own hash (cai.runs.digest leaves `cai-*` files out), and it
keeps the hash the weights had when it was written, so `cai lineage` can tell a record from weights
that changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from cai.engines.model import MARKER
from cai.errors import InputError, format_location
from cai.runs.digest import folder_digest
from cai.runs.inputs import file_entry, model_entry
from cai.runs.ledger import write_manifest

RECORD_NAME = "cai-lineage.json"
RECORD_FORMAT = 1
EMBEDDED = "embedded"


class LineageRecord(BaseModel):
    """What `cai-lineage.json` holds (written by cai; checked when read, since a person may edit it)."""

    model_config = ConfigDict(extra="forbid")

    lineage_format: int
    recorded: str
    note: str | None = None
    model: dict[str, Any]
    trained_on: list[dict[str, Any]]
    base: dict[str, Any] | None = None


def record_lineage(
    model_dir: str | Path,
    trained_on: Sequence[str | Path],
    base: str | Path | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Write `cai-lineage.json` into a saved model folder: the files that trained it (hashed), its base
    model (a folder, or "embedded" for cai's embedded model; None: not recorded) and a free-text note.
    Returns the record. Bad paths are input errors, and nothing is written."""
    folder = Path(model_dir)
    if not (folder / "config.json").is_file():
        raise InputError(f"{model_dir}: not a saved model folder (no config.json); save the model first")
    if not trained_on:
        raise InputError("name at least one file the model was trained on (--trained-on)")
    for path in trained_on:
        if not Path(path).exists():
            raise InputError(f"--trained-on {path}: no such file")
    record = LineageRecord(
        lineage_format=RECORD_FORMAT,
        recorded=datetime.now(UTC).isoformat(timespec="seconds"),
        note=note,
        model={"path": str(folder.resolve()), **folder_digest(folder).as_dict()},
        trained_on=[file_entry(str(path)) for path in trained_on],
        base=None if base is None else base_entry(str(base)),
    )
    data = record.model_dump()
    write_manifest(folder / RECORD_NAME, data)
    return data


def base_entry(base: str) -> dict[str, Any]:
    """The base model as the manifests name models: "embedded", or a folder."""
    if not Path(base).is_dir() and base != EMBEDDED:
        raise InputError(f"--base {base}: no such model folder (or give 'embedded' for cai's embedded model)")
    if base == EMBEDDED or (Path(base) / MARKER).is_file():  # the embedded model, named as every run names it
        from cai.engines.model import resolve_model

        path, label = resolve_model(None, lambda message: None)
        return model_entry(path, label)
    return model_entry(base, base)


def read_record(folder: Path) -> LineageRecord | None:
    """The folder's lineage record, None when it has none; a damaged one is an input error naming the field."""
    path = folder / RECORD_NAME
    if not path.is_file():
        return None
    try:
        return LineageRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        problems = "; ".join(f"{format_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: not a cai lineage record ({problems})") from None
