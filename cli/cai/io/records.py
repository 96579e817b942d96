"""Reading prompt files into validated rows, quarantining the rows that cannot be used, keying the rest.

The input is read line by line with line numbers, before the model loads. A bad row never stops
the good ones: it becomes a `Reject` (line, reason, detail, the raw text truncated) that the run
writes to its quarantine file. Only a flood of bad rows (--max-bad-rows) stops a run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Generic, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cai.constitution import format_location
from cai.errors import InputError

InputFormat = Literal["auto", "jsonl", "text"]
MAX_ROW_BYTES = 1_000_000
RAW_SHOWN = 500


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class PromptForm(BaseModel):
    """A prompt as a string or as a conversation ending with a user turn: what every prompt row shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    last_turn_hint: ClassVar[str] = ""

    id: str | int | None = None
    prompt: str | None = Field(default=None, min_length=1)
    messages: tuple[ChatMessage, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_prompt_form(self) -> Self:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' (a string) or 'messages' (a list of chat turns)")
        if self.messages is not None and self.messages[-1].role != "user":
            raise ValueError(f"'messages' must end with a user turn{self.last_turn_hint}")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("'prompt' is blank")
        return self

    def as_json(self) -> dict[str, Any]:
        """The row as the user wrote it (fields they left out stay out)."""
        return self.model_dump(mode="json", exclude_none=True)

    def conversation(self) -> tuple[dict[str, str], ...]:
        if self.messages is not None:
            return tuple(m.model_dump() for m in self.messages)
        return ({"role": "user", "content": self.prompt or ""},)


class PromptRow(PromptForm):
    """One input row of `cai revise`: a prompt or a conversation, optionally with a response to revise."""

    last_turn_hint: ClassVar[str] = "; put a reply to revise in 'response'"

    response: str | None = Field(default=None, min_length=1)


class JsonRow(Protocol):
    def as_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=JsonRow)


@dataclass(frozen=True)
class Item(Generic[R]):
    """A validated input row, the line it came from, and the key that names its output: every command's unit."""

    line: int
    row: R
    key: str

    def raw(self) -> bytes:
        return json.dumps(self.row.as_json(), ensure_ascii=False).encode()

    def reject(self, reason: str, detail: str, kind: Literal["quarantined", "dropped"] = "quarantined") -> Reject:
        """This row as an entry of the rejects file."""
        return Reject(self.line, reason, detail, truncate(self.raw()), self.key, kind)


@dataclass(frozen=True)
class Reject:
    """A row that could not be processed, as written to the quarantine file."""

    line: int
    reason: str
    detail: str
    raw: str
    key: str
    kind: Literal["quarantined", "dropped"] = "quarantined"

    def with_raw(self, raw: bytes) -> Reject:
        """The same entry showing `raw` (what the model produced) instead of the input row."""
        return Reject(self.line, self.reason, self.detail, truncate(raw), self.key, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
            "key": self.key,
        }


class BadRow(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


T = TypeVar("T")


@dataclass
class Scan(Generic[T]):
    """Everything read from the input: usable rows with their line numbers, and rejects."""

    label: str
    rows: list[tuple[int, T]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.rows) + len(self.rejects)


def scan_rows(
    source: str, input_format: InputFormat, max_row_bytes: int, validate: Callable[[dict[str, Any]], T]
) -> Scan[T]:
    """Read every non-blank line; `validate` turns a JSON object into a row or raises BadRow."""
    label = "<stdin>" if source == "-" else source
    result: Scan[T] = Scan(label)
    kind: str | None = None if input_format == "auto" else input_format
    with _open(source) as handle:
        for number, raw in _raw_lines(handle):
            if kind is None:
                kind = _detect_format(source, raw)
            try:
                result.rows.append((number, parse_line(raw, kind, max_row_bytes, validate)))
            except BadRow as bad:
                result.rejects.append(reject(number, raw, bad.reason, bad.detail))
    if not result.lines:
        raise InputError(f"{label} has no prompts")
    return result


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


def reject(line: int, raw: bytes, reason: str, detail: str) -> Reject:
    """A bad input row; its key (line and content hash) lets a resumed run skip it."""
    return Reject(line, reason, detail, truncate(raw), f"line{line}-{hashlib.sha256(raw).hexdigest()[:12]}")


def truncate(raw: bytes) -> str:
    text = raw[: RAW_SHOWN * 4].decode("utf-8", errors="replace")
    return text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + "…"


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


def validate_prompt_row(data: dict[str, Any]) -> PromptRow:
    try:
        return PromptRow.model_validate(data)
    except ValidationError as exc:
        raise BadRow("invalid_row", "; ".join(_describe(error) for error in exc.errors())) from None


class Keyed(Protocol):
    @property
    def line(self) -> int: ...

    @property
    def key(self) -> str: ...

    def raw(self) -> bytes: ...


KeyedT = TypeVar("KeyedT", bound=Keyed)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive runs of at most `size` items: the unit of one batched pass and one commit."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def split_duplicates(items: Sequence[KeyedT]) -> tuple[list[KeyedT], list[Reject]]:
    """A row repeated verbatim would give the same result again (same key, same seeds): drop the repeats."""
    first_line: dict[str, int] = {}
    unique: list[KeyedT] = []
    duplicates: list[Reject] = []
    for item in items:
        if item.key in first_line:
            detail = f"same row as line {first_line[item.key]}"
            key = f"{item.key}#line{item.line}"
            duplicates.append(Reject(item.line, "duplicate", detail, truncate(item.raw()), key, kind="dropped"))
        else:
            first_line[item.key] = item.line
            unique.append(item)
    return unique, duplicates


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


def _describe(error: Any) -> str:
    where = format_location(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (allowed: id, prompt, messages, response)"
    return f"{where}: {error['msg']}"
