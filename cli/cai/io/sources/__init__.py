"""Where rows come from: JSONL and text (cai.io.records), hh-rlhf transcripts, CSV, Parquet, dataset folders.

Every reader hands back the same Scan: usable rows numbered as the user finds them (the line of a
JSONL, text or CSV file; the 1-based row of a Parquet file or dataset folder) and a Reject for every
row that cannot be used, so every format gets the same quarantine, --max-bad-rows and resume. pyarrow
and datasets load only when such an input is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from cai.errors import InputError
from cai.io import hh
from cai.io.lines import InputFormat, iter_lines, label_of, scan_rows
from cai.io.pairs import Pair, Pointwise, read_pair
from cai.io.records import MAX_ROW_BYTES, PromptRow, Reject, Scan, validate_prompt_row
from cai.io.sources.columns import PromptColumns, iter_table, scan_table
from cai.io.sources.hfdisk import dataset_table, is_dataset_folder
from cai.io.sources.table import Table, csv_table, parquet_table
from cai.options import option

SourceFormat = Literal["auto", "jsonl", "text", "hh", "csv", "parquet", "hf"]
SOURCE_FORMATS: tuple[str, ...] = get_args(SourceFormat)
Container = Literal["lines", "jsonl", "text", "csv", "parquet", "hf"]
TABLES = ("csv", "parquet", "hf")
T = TypeVar("T")


def split_option() -> Any:
    return option(None, help="Dataset folder with several splits: the one to read.")


@dataclass(frozen=True)
class SourceOptions:
    """How to read a prompt source; the column options apply to tables (CSV, Parquet, dataset folders)."""

    input_format: SourceFormat = option(
        "auto",
        help="auto (by folder, extension, else content), jsonl, text, hh (hh-rlhf transcripts), csv, parquet "
        "or hf (a dataset folder).",
    )
    prompt_column: str | None = option(
        None, help="CSV/Parquet/dataset: the prompt column (text or chat turns). Default: prompt."
    )
    id_column: str | None = option(None, help="CSV/Parquet/dataset: the id column. Default: id, if there is one.")
    split: str | None = split_option()
    hh_response: hh.HHResponse = option(
        "drop",
        help="hh-rlhf rows: drop the final Assistant turn (the model answers afresh), or revise the chosen "
        "or rejected transcript's final turn.",
    )


def read_prompts(source: str, options: SourceOptions, max_row_bytes: int = MAX_ROW_BYTES) -> Scan[PromptRow]:
    """Every row of a prompt source for `cai revise`, validated or quarantined."""
    container = detect(source, options.input_format)
    _check_options(container, options)
    if container in TABLES:
        table = open_table(source, container, options.split, max_row_bytes)
        columns, validate = PromptColumns(options.prompt_column, options.id_column, options.hh_response).select(table)
        return scan_table(table, columns, validate, max_row_bytes)
    line_format: InputFormat = "auto" if container == "lines" else "text" if container == "text" else "jsonl"
    return scan_rows(source, line_format, max_row_bytes, _row_validator(options))


def read_rows(source: str, validate: Callable[[dict[str, Any]], T], split: str | None, max_row_bytes: int) -> Scan[T]:
    """Every row of a source whose fields are the row's (what `cai score` reads): validated or quarantined."""
    return Scan.collect(label_of(source), iter_rows(source, validate, split, max_row_bytes))


def iter_rows(
    source: str, validate: Callable[[dict[str, Any]], T], split: str | None = None, max_row_bytes: int = MAX_ROW_BYTES
) -> Iterator[tuple[int, T | Reject]]:
    """Each row of JSONL lines or a table (its columns as fields), one at a time: a validated row or its Reject."""
    container = detect(source, "auto")
    if split is not None and container != "hf":
        raise InputError("--split is for Hugging Face dataset folders (save_to_disk) only")
    if container in TABLES:
        return iter_table(open_table(source, container, split, max_row_bytes), None, validate, max_row_bytes)
    return iter_lines(source, "jsonl", max_row_bytes, validate)


def detect(source: str, requested: SourceFormat) -> Container:
    """The requested format, else by folder, extension and (for Parquet) the file's magic bytes."""
    if requested == "hh":
        return "jsonl"
    if requested != "auto":
        return requested
    if source == "-":
        return "lines"
    path = Path(source)
    if path.is_dir():
        if is_dataset_folder(path):
            return "hf"
        raise InputError(
            f"{source} is a folder but not a Hugging Face dataset saved with save_to_disk "
            "(no dataset_info.json or dataset_dict.json); pass a file or such a folder"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".parquet", ".pq"} or _starts_with(path, b"PAR1"):
        return "parquet"
    return "lines"


def open_table(source: str, container: Container, split: str | None, max_row_bytes: int) -> Table:
    if container == "csv":
        return csv_table(source, max_row_bytes)
    if container == "parquet":
        return parquet_table(source)
    if not Path(source).is_dir():
        raise InputError(f"{source} is not a folder; --input-format hf reads a folder written by save_to_disk")
    return dataset_table(source, split)


def _check_options(container: Container, options: SourceOptions) -> None:
    if options.split is not None and container != "hf":
        raise InputError("--split is for Hugging Face dataset folders (save_to_disk) only")
    if container not in TABLES:
        for flag, value in (("--prompt-column", options.prompt_column), ("--id-column", options.id_column)):
            if value is not None:
                raise InputError(f"{flag} is for CSV, Parquet and dataset folders; JSONL rows name their fields")


def _row_validator(options: SourceOptions) -> Callable[[dict[str, Any]], PromptRow]:
    """Forced hh reads every row as transcripts; auto reads a row as transcripts when it has no prompt."""
    if options.input_format == "hh":
        return lambda data: hh.prompt_row(data, options.hh_response)
    if options.input_format in ("jsonl", "text"):
        return validate_prompt_row

    def either(data: dict[str, Any]) -> PromptRow:
        return hh.prompt_row(data, options.hh_response) if hh.is_transcript_row(data) else validate_prompt_row(data)

    return either


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def read_pairs(source: str, split: str | None = None) -> Iterator[Pair | Pointwise | Reject]:
    """Each row of a JSONL file (or -), CSV, Parquet or dataset folder, one at a time: a pair (its `line` set)
    or the Reject saying why the row is not one."""
    label = label_of(source)
    for number, item in iter_rows(source, read_pair, split):
        if not isinstance(item, Reject):
            item.line, item.where = number, f"{label}:{number}"
        yield item
