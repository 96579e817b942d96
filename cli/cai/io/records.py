"""Reading prompt files into validated rows, quarantining the rows that cannot be used, keying the rest.

The input is read line by line with line numbers, before the model loads. A bad row never stops
the good ones: it becomes a `Reject` (line, reason, detail, the raw text truncated) that the run
writes to its quarantine file. Only a flood of bad rows (--max-bad-rows) stops a run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cai.errors import InputError, format_location

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
        """The rejects file's line; its fields in this order (resume reads `key`)."""
        return {name: getattr(self, name) for name in REJECT_FIELDS}


REJECT_FIELDS = ("line", "kind", "reason", "detail", "raw", "key")


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

    @classmethod
    def collect(cls, label: str, numbered: Iterable[tuple[int, T | Reject]], what: str = "rows") -> Scan[T]:
        """Every row of a source read at once; a source with none is an input error."""
        scan: Scan[T] = cls(label)
        for number, row in numbered:
            if isinstance(row, Reject):
                scan.rejects.append(row)
            else:
                scan.rows.append((number, row))
        if not scan.lines:
            raise InputError(f"{label} has no {what}")
        return scan


def reject(line: int, raw: bytes, reason: str, detail: str) -> Reject:
    """A bad input row; its key (line and content hash) lets a resumed run skip it."""
    return Reject(line, reason, detail, truncate(raw), f"line{line}-{hashlib.sha256(raw).hexdigest()[:12]}")


def truncate(raw: bytes) -> str:
    text = raw[: RAW_SHOWN * 4].decode("utf-8", errors="replace")
    return text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + "…"


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


def _describe(error: Any) -> str:
    where = format_location(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (allowed: id, prompt, messages, response)"
    return f"{where}: {error['msg']}"
