"""CSV and Parquet files as tables: column names first, then numbered rows of cells.

A CSV row is numbered by the line it starts on (the header is line 1, as in a spreadsheet); a Parquet
row by its 1-based position. A CSV row that cannot be read (wrong number of fields, bytes that are not
UTF-8, a field over the size limit) comes out as `Broken`, to be quarantined like any bad row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.io.records import BadRow

Cells = dict[str, Any]


@dataclass(frozen=True)
class Broken:
    """A row that could not be read as cells: why, and its raw content for the quarantine file."""

    bad: BadRow
    raw: bytes


RowReader = Callable[[Sequence[str] | None], Iterator[tuple[int, Cells | Broken]]]


@dataclass(frozen=True)
class Table:
    """A table's label (for messages), its column names, and a reader of its rows (given columns or all)."""

    label: str
    names: tuple[str, ...]
    rows: RowReader


def csv_table(source: str, max_row_bytes: int) -> Table:
    path = Path(source)
    with _open_csv(path) as handle:
        try:
            header = next(csv.reader(handle), None)
        except csv.Error as exc:
            raise InputError(f"{source}:1: the CSV header cannot be read ({exc})") from None
    if not header or not any(name.strip() for name in header):
        raise InputError(f"{source} has no header row; its first line must name the columns (e.g. prompt)")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"{source}:1: column {repeated[0]!r} appears twice in the header")

    def rows(columns: Sequence[str] | None) -> Iterator[tuple[int, Cells | Broken]]:
        limit = csv.field_size_limit()
        csv.field_size_limit(max(max_row_bytes, 1))  # a longer field is a bad row, not a crash
        try:
            yield from _csv_rows(path, header, columns)
        finally:
            csv.field_size_limit(limit)

    return Table(source, tuple(header), rows)


def _open_csv(path: Path) -> Any:
    try:
        # surrogateescape: a bad byte spoils its row only (found per row below), not the whole file
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise InputError(f"prompt file not found: {path}") from None


def _csv_rows(path: Path, header: list[str], columns: Sequence[str] | None) -> Iterator[tuple[int, Cells | Broken]]:
    with _open_csv(path) as handle:
        reader = csv.reader(handle)
        next(reader)
        previous = reader.line_num
        while True:
            start = previous + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                previous = reader.line_num
                yield start, Broken(BadRow("invalid_csv", f"row cannot be read as CSV ({exc})"), b"")
                continue
            previous = reader.line_num
            if not fields:  # a blank line
                continue
            yield start, _cells(header, fields, columns)


def _cells(header: list[str], fields: list[str], columns: Sequence[str] | None) -> Cells | Broken:
    raw = json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogateescape")
    if len(fields) != len(header):
        detail = f"row has {len(fields)} fields; the header has {len(header)} (a stray comma or quote?)"
        return Broken(BadRow("invalid_csv", detail), raw)
    cells = dict(zip(header, fields, strict=True))
    for name, value in cells.items():
        if _undecodable(value):
            return Broken(BadRow("invalid_utf8", f"column {name!r}: not UTF-8"), raw)
    return {name: cells[name] for name in columns} if columns is not None else cells


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parquet_table(source: str) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(source)
    except FileNotFoundError:
        raise InputError(f"prompt file not found: {source}") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source} is not a readable Parquet file ({exc})") from None

    def rows(columns: Sequence[str] | None) -> Iterator[tuple[int, Cells | Broken]]:
        number = 0
        for batch in file.iter_batches(batch_size=1024, columns=list(columns) if columns is not None else None):
            for cells in batch.to_pylist():
                number += 1
                yield number, cells

    return Table(source, tuple(file.schema_arrow.names), rows)
