"""Checks made before the model loads, shared by `cai revise` and `cai score`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cai import model
from cai.errors import InputError
from cai.ledger import OutputPaths
from cai.records import Scan


def resolve_model(requested: str | None, note: Callable[[str], None]) -> tuple[str, str]:
    """(what vLLM loads, the label written on every row). No model given means the embedded one."""
    if requested is None:
        embedded = model.prepare(note)
        return str(embedded.folder), f"{model.MODEL_LABEL}@{embedded.gguf_sha256[:12]}"
    path = Path(requested).expanduser()
    if not path.exists() and requested.startswith(("/", ".", "~")):
        raise InputError(f"--model {requested}: no such folder; give a model folder or a model name")
    if path.exists() and not (path / "config.json").is_file():
        raise InputError(f"--model {requested}: folder has no config.json; point at a Hugging Face model folder")
    return (str(path), str(path)) if path.exists() else (requested, requested)


def check_paths(source: str, paths: OutputPaths) -> None:
    written = [p for p in (paths.output, paths.rejects, paths.manifest) if p is not None]
    if source != "-" and any(p.resolve() == Path(source).resolve() for p in written):
        raise InputError(f"the output files would overwrite the input {source}; choose another -o")
    for path in written:
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file path such as {path}/pairs.jsonl")


def check_bad_rows(scanned: Scan[Any], limit: int) -> None:
    if len(scanned.rejects) <= limit:
        return
    shown = "\n".join(f"{scanned.label}:{r.line}: {r.reason}: {r.detail}" for r in scanned.rejects[:10])
    raise InputError(
        f"{len(scanned.rejects)} of {scanned.lines} rows in {scanned.label} are bad (limit --max-bad-rows {limit}); "
        f"nothing was generated. First ones:\n{shown}"
    )
