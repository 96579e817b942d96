"""Reading rows line by line: JSONL or text files (or stdin), numbered, each validated or quarantined.

The input is read line by line with line numbers, before the model loads. A bad row never stops
the good ones: it becomes a `Reject` (line, reason, detail, the raw text truncated) that the run
writes to its quarantine file. Only a flood of bad rows (--max-bad-rows) stops a run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

from cai.errors import InputError
from cai.io.records import BadRow, Reject, Scan, reject

InputFormat = Literal["auto", "jsonl", "text"]
T = TypeVar("T")


def scan_rows(
    source: str, input_format: InputFormat, max_row_bytes: int, validate: Callable[[dict[str, Any]], T]
) -> Scan[T]:
    """Read every non-blank line; `validate` turns a JSON object into a row or raises BadRow."""
    return Scan.collect(label_of(source), iter_lines(source, input_format, max_row_bytes, validate), "prompts")


def iter_lines(
    source: str, input_format: InputFormat, max_row_bytes: int, validate: Callable[[dict[str, Any]], T]
) -> Iterator[tuple[int, T | Reject]]:
    """Each non-blank line, numbered from 1, as a validated row or the Reject saying why it is not one."""
    kind: str | None = None if input_format == "auto" else input_format
    with _open(source) as handle:
        for number, raw in _raw_lines(handle):
            if kind is None:
                kind = _detect_format(source, raw)
            try:
                yield number, parse_line(raw, kind, max_row_bytes, validate)
            except BadRow as bad:
                yield number, reject(number, raw, bad.reason, bad.detail)


def label_of(source: str) -> str:
    return "<stdin>" if source == "-" else source


def scan_objects(rows: Iterable[dict[str, Any] | str], validate: Callable[[dict[str, Any]], T]) -> Scan[T]:
    """Rows given as Python objects (a string is a prompt), numbered from 1, validated as file rows are."""
    result: Scan[T] = Scan("<rows>")
    for number, row in enumerate(rows, start=1):
        data = {"prompt": row} if isinstance(row, str) else row
        raw = json.dumps(data, ensure_ascii=False, default=str).encode()
        try:
            if not isinstance(data, dict):
                raise BadRow("not_object", f"expected a dict or a string, got {type(data).__name__}")
            result.rows.append((number, validate(data)))
        except BadRow as bad:
            result.rejects.append(reject(number, raw, bad.reason, bad.detail))
    return result


def parse_line(raw: bytes, kind: str, max_row_bytes: int, validate: Callable[[dict[str, Any]], T]) -> T:
    if len(raw) > max_row_bytes:
        raise BadRow("too_large", f"row is {len(raw)} bytes; the limit is {max_row_bytes} (--max-row-bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRow("invalid_utf8", f"not UTF-8 ({exc.reason} at byte {exc.start} of the line)") from None
    if kind == "text":
        return validate({"prompt": text.strip()})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRow("invalid_json", f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise BadRow("not_object", f'expected a JSON object like {{"prompt": "..."}}, got {type(data).__name__}')
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRow("lone_surrogate", "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff escape)") from None
    return validate(data)


@contextmanager
def _open(source: str) -> Iterator[BinaryIO]:
    """stdin's bytes or a file's, with the errors a user can act on."""
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(source).open("rb")  # noqa: SIM115 (closed by the `with` below, after the errors)
    except FileNotFoundError:
        raise InputError(f"prompt file not found: {source}") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a folder; pass a .jsonl or .txt file") from None
    with handle:
        yield handle


def _raw_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines as bytes, numbered from 1; a UTF-8 BOM and CR before LF are dropped."""
    for number, line in enumerate(handle, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        line = line.rstrip(b"\n").rstrip(b"\r")
        if line.strip():
            yield number, line


def _detect_format(source: str, first_line: bytes) -> Literal["jsonl", "text"]:
    suffix = Path(source).suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return "jsonl"
    if suffix == ".txt":
        return "text"
    return "jsonl" if first_line.lstrip().startswith(b"{") else "text"
