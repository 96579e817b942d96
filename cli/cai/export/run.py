"""`cai export` as one core function: check the target, read and validate every row, split, read again and write.

Two passes over the file keep memory flat: the first checks every line, hashes each row's prompt
(for the split) and infers the Arrow schema a batch at a time; the second converts the rows a batch
at a time and writes them to their split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai import __version__
from cai.errors import CaiError, InputError
from cai.export.schema import Provenance, SchemaInference, shaped
from cai.export.source import Scan, reread, scan_source
from cai.export.split import in_test_split
from cai.export.write import Target, check_target, write_export
from cai.runs.ledger import OutputPaths, read_manifest


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
    inference = SchemaInference(job.provenance)
    size = job.source.stat().st_size if job.source.is_file() else 0
    groups = bytearray()
    scan = scan_source(job.source, begin(size), inference.add, None if job.test_size is None else groups)
    inference.end()  # the last batch of rows is not held while splitting
    in_test = None if job.test_size is None else in_test_split(groups, job.test_size, job.seed)
    del groups  # 32 bytes a row: not held while writing
    schema = inference.schema()  # after the split, whose errors came first when one table held the rows
    tested = 0 if in_test is None else in_test.count(1)
    splits = {"train": scan.rows - tested, "test": tested} if in_test is not None else {"train": scan.rows}
    note(f"writing {scan.rows} {scan.shape} rows to {job.target} ({job.to})")
    rows = ((shaped(row, job.provenance), line_bytes) for row, line_bytes in reread(scan))
    files = write_export(rows, in_test, schema, job.target, job.to, _record(job, scan, splits))
    return ExportResult(scan.shape, scan.rows, splits, list(schema.names), files)


def _note_unfinished(source: Path, note: Callable[[str], None]) -> None:
    """A run still going (or interrupted) can be exported, but the user should know it is partial."""
    manifest_path = OutputPaths.for_output(str(source)).manifest
    try:
        manifest = read_manifest(manifest_path) if manifest_path is not None else None
    except CaiError:  # an unreadable manifest says nothing about the rows, which are checked one by one
        return
    if manifest is not None and manifest.get("status") != "complete":
        note(f"the run that writes {source} is {manifest.get('status')!r}: exporting the rows it holds so far")


def _record(job: ExportJob, scan: Scan, splits: dict[str, int]) -> dict[str, Any]:
    return {
        "tool": "cai export",
        "cai": __version__,
        "source": str(job.source),
        "source_sha256": scan.sha256,  # of the bytes exported (a run may have appended rows since)
        "format": scan.shape,
        "to": job.to,
        "splits": splits,
        "test_size": job.test_size,
        "seed": job.seed,
        "provenance": job.provenance,
    }
