"""Writing the splits as Parquet files or a `datasets` save_to_disk folder, a batch at a time, all or nothing.

Rows arrive one at a time from the second pass over the file; a batch of them at a time becomes an
Arrow table of the one schema found in the first pass, so train and test files share it and
`datasets.load_dataset` reads them as one dataset. Everything is written into a hidden staging
folder beside DIR and renamed into place at the end: an interrupted export leaves no half-written
DIR. `.cai-export.json` inside DIR records what was exported (hidden files are not data files to
`datasets`); --force replaces only a folder that holds one, or an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cai.errors import InputError
from cai.export.dataset import DatasetSplits
from cai.export.schema import BATCH_BYTES, to_table

if TYPE_CHECKING:
    import pyarrow as pa

Target = Literal["parquet", "hf-dataset"]
MARKER = ".cai-export.json"
ROW_GROUP_BYTES = 64 << 20  # Arrow bytes held for Parquet row groups, all splits together


class SplitWriter(Protocol):
    """Writes tables to the splits' files; `finish` completes them, leaving the block closes what is open."""

    def __enter__(self) -> SplitWriter: ...

    def __exit__(self, *error: object) -> None: ...

    def write(self, split: str, table: pa.Table) -> None: ...

    def finish(self) -> list[Path]: ...


def check_target(target: Path, source: Path, force: bool) -> None:
    """Before reading anything: never overwrite by surprise, never delete a folder cai did not write."""
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file; export writes a folder: choose another DIR")
    if source.resolve().is_relative_to(target.resolve()):
        raise InputError(f"{source} is inside {target}: choose a DIR that does not hold the input")
    if not target.exists() or not any(target.iterdir()):
        return
    if not force:
        raise InputError(f"{target} already exists; pass --force to replace it, or choose another DIR")
    if not (target / MARKER).exists():
        raise InputError(
            f"{target} exists and is not a cai export (no {MARKER} in it), so --force will not delete it; "
            "remove it yourself or choose another DIR"
        )


def write_export(
    rows: Iterable[tuple[dict[str, Any], int]],
    in_test: bytes | None,
    schema: pa.Schema,
    target: Path,
    to: Target,
    record: dict[str, Any],
) -> list[Path]:
    """Write `rows` (shaped for export, with their line sizes) to train, or to test where `in_test` has a 1,
    into a staging folder swapped in for `target` at the end; returns the data files."""
    names = ["train"] if in_test is None else ["train", "test"]
    with _staged(target) as staging:
        splits: SplitWriter = (
            ParquetSplits(staging, names, schema) if to == "parquet" else DatasetSplits(staging, names, schema)
        )
        with splits as writer:
            _route(rows, in_test, schema, writer)
            files = writer.finish()
        (staging / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [target / file.relative_to(staging) for file in files]


def _route(
    rows: Iterable[tuple[dict[str, Any], int]], in_test: bytes | None, schema: pa.Schema, writer: SplitWriter
) -> None:
    """Rows keep the file's order within each split; at most BATCH_BYTES of lines are held as Python rows."""
    held: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    size = 0
    for index, (row, line_bytes) in enumerate(rows):
        held["test" if in_test is not None and in_test[index] else "train"].append(row)
        size += line_bytes
        if size >= BATCH_BYTES:
            _flush(held, schema, writer)
            size = 0
    _flush(held, schema, writer)


def _flush(held: dict[str, list[dict[str, Any]]], schema: pa.Schema, writer: SplitWriter) -> None:
    for split, batch in held.items():
        if batch:
            writer.write(split, to_table(batch, schema))
            batch.clear()


@contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A hidden folder beside `target` to write in, renamed to `target` if the block ends without an error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would make DIR private once renamed
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class ParquetSplits:
    """SPLIT.parquet per split: `load_dataset("parquet", data_dir=DIR)` names the splits after the files.
    Tables are held until the splits hold ROW_GROUP_BYTES together; then the split holding the most is
    written as one row group (32-64 MiB but for the last ones), and memory does not grow with the splits."""

    def __init__(self, folder: Path, names: Sequence[str], schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self.paths = {name: folder / f"{name}.parquet" for name in names}
        self._writers = {name: pq.ParquetWriter(path, schema) for name, path in self.paths.items()}
        self._held: dict[str, list[pa.Table]] = {name: [] for name in names}
        self._bytes = dict.fromkeys(names, 0)

    def __enter__(self) -> ParquetSplits:
        return self

    def __exit__(self, *error: object) -> None:
        for writer in self._writers.values():
            writer.close()

    def write(self, split: str, table: pa.Table) -> None:
        self._held[split].append(table)
        self._bytes[split] += table.nbytes
        if sum(self._bytes.values()) >= ROW_GROUP_BYTES:
            self._write_row_group(max(self._bytes, key=self._bytes.__getitem__))

    def finish(self) -> list[Path]:
        for split, writer in self._writers.items():
            self._write_row_group(split)
            writer.close()
        return list(self.paths.values())

    def _write_row_group(self, split: str) -> None:
        import pyarrow as pa

        tables, self._held[split], self._bytes[split] = self._held[split], [], 0
        if tables:
            table = pa.concat_tables(tables)
            self._writers[split].write_table(table, row_group_size=table.num_rows)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
