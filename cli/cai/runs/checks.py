"""Checks made before any model work: the output paths can be written, the input is not mostly bad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.io.records import Scan
from cai.runs.ledger import OutputPaths


def check_paths(source: str, paths: OutputPaths) -> None:
    """Every file the run writes: not the input, and writable (check_output)."""
    written = [p for p in (paths.output, paths.rejects, paths.manifest) if p is not None]
    if source != "-" and any(p.resolve() == Path(source).resolve() for p in written):
        raise InputError(f"the output files would overwrite the input {source}; choose another -o")
    check_output(paths)


def check_output(paths: OutputPaths) -> None:
    """Every file the run writes: not a folder, and under a folder that can exist."""
    for path in (p for p in (paths.output, paths.rejects, paths.manifest) if p is not None):
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file path such as {path}/pairs.jsonl")
        blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        if blocking is not None:
            raise InputError(f"{path}: {blocking} is a file, not a folder; choose an -o whose folders can exist")


def bad_rows_problem(scanned: Scan[Any], limit: int) -> str | None:
    """What to tell the user when the input has more bad rows than --max-bad-rows allows, else None."""
    if len(scanned.rejects) <= limit:
        return None
    shown = "\n".join(f"{scanned.label}:{r.line}: {r.reason}: {r.detail}" for r in scanned.rejects[:10])
    return (
        f"{len(scanned.rejects)} of {scanned.lines} rows in {scanned.label} are bad (limit --max-bad-rows {limit}); "
        f"nothing was generated. First ones:\n{shown}"
    )


def check_bad_rows(scanned: Scan[Any], limit: int) -> None:
    problem = bad_rows_problem(scanned, limit)
    if problem is not None:
        raise InputError(problem)
