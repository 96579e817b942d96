"""Reading an output file for export, twice: every line a row of one shape, or a clear error and nothing written.

A file cai wrote holds only complete JSON rows of one --format. A line that is not (hand edits, a
torn last line from a crash, two runs' shapes in one file) is not skipped: the export stops and
names the lines, because a dataset that silently lacks rows is worse than no dataset.

No row is kept: the first pass (`scan_source`) checks every line and keeps 32 bytes per row (its
prompt group, when splitting, in the caller's buffer); the second (`reread`) yields the same rows again for writing, and
stops the export if the bytes it reads are not the ones the first pass checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.io.keys import prompt_key
from cai.io.revised import OutputFormat, prompt_of, shape_of

SHOWN = 5  # bad lines named in the error
Take = Callable[[dict[str, Any], int], None]  # a checked row and the size of its line, in bytes


@dataclass(frozen=True)
class Scan:
    """What the first pass learned: the file's format, its row count, which bytes it checked."""

    path: Path
    shape: str
    rows: int
    size: int  # bytes read: the second pass reads exactly these
    sha256: str  # of those bytes


def scan_source(path: Path, advance: Callable[[int], None], take: Take, groups: bytearray | None = None) -> Scan:
    """Check every non-blank line, hand each good row to `take`; `advance` is told the bytes read.
    `groups`, if given, gets each row's prompt key (cai.io.keys.prompt_key), 32 bytes a row in file order
    (for the split)."""
    if not path.is_file():
        raise InputError(f"{path} is not a file; pass the JSONL that cai revise wrote")
    problems: list[str] = []
    shape: OutputFormat | None = None
    columns: set[str] = set()
    digest, size, rows = hashlib.sha256(), 0, 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            advance(len(raw))
            digest.update(raw)
            size += len(raw)
            if not raw.strip():
                continue
            problem, row = _parse(raw)
            if row is not None and shape is None:
                shape, columns = shape_of(row), set(row)
                if shape is None:
                    raise InputError(_unknown_shape(path, number, row))
            if row is not None and set(row) != columns:
                problem = f"columns {sorted(row)} differ from the first row's {sorted(columns)}: the file mixes shapes"
            if problem is None and row is not None and shape is not None:
                problem = _bad_conversation(row, shape)
            if problem is not None:
                problems.append(f"{path}:{number}: {problem}")
                continue
            assert row is not None and shape is not None
            rows += 1
            if groups is not None:
                groups += prompt_key(prompt_of(row, shape))
            if not problems:  # once the export cannot happen, only the lines are still checked
                take(row, len(raw))
    if problems:
        raise InputError(_bad_lines(path, problems))
    if shape is None:
        raise InputError(f"{path} has no rows to export")
    return Scan(path, shape, rows, size, digest.hexdigest())


def reread(scan: Scan) -> Iterator[tuple[dict[str, Any], int]]:
    """The rows `scan` checked, in order, each with its line's size: a run still appending rows is fine
    (only the bytes scanned are read), a file rewritten in between stops the export."""
    digest, size, rows = hashlib.sha256(), 0, 0
    with scan.path.open("rb") as handle:
        for raw in handle:
            if size >= scan.size:
                break
            digest.update(raw)
            size += len(raw)
            if not raw.strip():
                continue
            _, row = _parse(raw)
            rows += 1
            if row is None or rows > scan.rows:
                raise InputError(_changed(scan))
            yield row, len(raw)
    if size != scan.size or digest.hexdigest() != scan.sha256:
        raise InputError(_changed(scan))


def _changed(scan: Scan) -> str:
    return (
        f"{scan.path} changed while it was exported (its first {scan.size} bytes are not the ones checked); "
        "nothing was exported: export it again once nothing rewrites it"
    )


def _parse(raw: bytes) -> tuple[str | None, dict[str, Any] | None]:
    if not raw.endswith(b"\n"):
        torn = "no newline at the end: a torn last line (rerun the cai revise command to resume, which cuts it)"
        return torn, None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not valid JSON ({exc})", None
    if not isinstance(data, dict):
        return f"expected a JSON object (a row), got {type(data).__name__}", None
    return None, data


def _bad_conversation(row: dict[str, Any], shape: str) -> str | None:
    field = "prompt" if shape == "trl" else "messages"
    value = row.get(field)
    if shape != "trl" and not (isinstance(value, list) and value):
        return f"'{field}' must be a non-empty list of chat turns"
    return None


def _unknown_shape(path: Path, number: int, row: dict[str, Any]) -> str:
    return (
        f"{path}:{number}: columns {sorted(row)} are not a cai revise output: expected trl rows "
        "(prompt, chosen, rejected), sft rows (messages) or hf-cai rows (init_prompt, ..., messages)"
    )


def _bad_lines(path: Path, problems: list[str]) -> str:
    more = f"\n... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return (
        f"{len(problems)} line(s) of {path} are not rows of one cai output; nothing was exported. "
        "Fix or remove them (or finish the run first):\n" + "\n".join(problems[:SHOWN]) + more
    )
