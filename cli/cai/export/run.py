"""`cai export` as one core function: check the target, read and validate every row, split, write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai import __version__
from cai.errors import CaiError, InputError
from cai.export.source import read_source
from cai.export.split import split_indices
from cai.export.write import Provenance, Target, arrow_table, check_target, write_splits
from cai.runs.ledger import OutputPaths, file_sha256, read_manifest


@dataclass(frozen=True)
class ExportJob:
    source: Path
    target: Path
    to: Target
    test_size: float | None = None  # None: one split, train
    seed: int = 0
    provenance: Provenance = "struct"
    force: bool = False


@dataclass
class ExportResult:
    shape: str
    rows: int
    splits: dict[str, int]
    columns: list[str]
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Advance = Callable[[int], None]


def run_export(job: ExportJob, begin: Callable[[int], Advance], note: Callable[[str], None]) -> ExportResult:
    """`begin(total_bytes)` returns the reader's progress callback; notes go to stderr."""
    if job.test_size is not None and job.test_size <= 0:
        raise InputError("--test-size must be above 0: a fraction of the rows (0.1) or a number of rows (50)")
    check_target(job.target, job.source, job.force)
    if job.source.is_file():
        _note_unfinished(job.source, note)
    source = read_source(job.source, begin(job.source.stat().st_size if job.source.is_file() else 0))
    if job.test_size is None:
        splits = {"train": list(range(len(source.rows)))}
    else:
        train, test = split_indices(source.groups, job.test_size, job.seed)
        splits = {"train": train, "test": test}
    table = arrow_table(source.rows, job.provenance)
    note(f"writing {len(source.rows)} {source.shape} rows to {job.target} ({job.to})")
    files = write_splits(table, splits, job.target, job.to, _record(job, source.shape, splits))
    sizes = {name: len(indices) for name, indices in splits.items()}
    return ExportResult(source.shape, len(source.rows), sizes, list(table.column_names), files)


def _note_unfinished(source: Path, note: Callable[[str], None]) -> None:
    """A run still going (or interrupted) can be exported, but the user should know it is partial."""
    manifest_path = OutputPaths.for_output(str(source)).manifest
    try:
        manifest = read_manifest(manifest_path) if manifest_path is not None else None
    except CaiError:  # an unreadable manifest says nothing about the rows, which are checked one by one
        return
    if manifest is not None and manifest.get("status") != "complete":
        note(f"the run that writes {source} is {manifest.get('status')!r}: exporting the rows it holds so far")


def _record(job: ExportJob, shape: str, splits: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "tool": "cai export",
        "cai": __version__,
        "source": str(job.source),
        "source_sha256": file_sha256(job.source),
        "format": shape,
        "to": job.to,
        "splits": {name: len(indices) for name, indices in splits.items()},
        "test_size": job.test_size,
        "seed": job.seed,
        "provenance": job.provenance,
    }
