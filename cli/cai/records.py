"""Reading prompt files into validated rows, and keying them.

Every row is validated before the model loads, and every error names the file, the line and
the field, so a user fixes the input once instead of discovering problems mid-run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cai.constitution import format_location
from cai.errors import InputError

InputFormat = Literal["auto", "jsonl", "text"]
MAX_ERRORS_SHOWN = 20


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class PromptRow(BaseModel):
    """One input row: a prompt or a conversation, optionally with a response to revise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | int | None = None
    prompt: str | None = Field(default=None, min_length=1)
    messages: tuple[ChatMessage, ...] | None = Field(default=None, min_length=1)
    response: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_prompt_form(self) -> PromptRow:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' (a string) or 'messages' (a list of chat turns)")
        if self.messages is not None and self.messages[-1].role != "user":
            raise ValueError("'messages' must end with a user turn; put a reply to revise in 'response'")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("'prompt' is blank")
        return self

    def conversation(self) -> tuple[dict[str, str], ...]:
        if self.messages is not None:
            return tuple(m.model_dump() for m in self.messages)
        return ({"role": "user", "content": self.prompt or ""},)


@dataclass(frozen=True)
class Record:
    """A validated row, where it came from, and the key that names it in the output."""

    line: int
    row: PromptRow
    key: str


def read_rows(source: str, input_format: InputFormat = "auto") -> list[tuple[int, PromptRow]]:
    """All rows of a file (or '-' for stdin); every bad row is reported together, then exit 2."""
    label = "<stdin>" if source == "-" else source
    text = _read_text(source)
    kind = _detect_format(source, text) if input_format == "auto" else input_format
    rows: list[tuple[int, PromptRow]] = []
    errors: list[str] = []
    for line_number, line in _lines(text):
        try:
            rows.append((line_number, _parse_line(line, kind)))
        except ValueError as exc:
            errors.append(f"{label}:{line_number}: {exc}")
    if errors:
        shown = "\n".join(errors[:MAX_ERRORS_SHOWN])
        more = f"\n... and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise InputError(f"{len(errors)} bad row(s) in {label}; nothing was generated:\n{shown}{more}")
    if not rows:
        raise InputError(f"{label} has no prompts")
    return rows


def record_key(row: PromptRow, run_fingerprint: str) -> str:
    """A hash of everything that decides a row's output: the row itself and the run's settings."""
    payload = json.dumps([row.model_dump(mode="json"), run_fingerprint], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def fingerprint(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _read_text(source: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise InputError(f"prompt file not found: {source}") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a folder; pass a .jsonl or .txt file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _detect_format(source: str, text: str) -> Literal["jsonl", "text"]:
    suffix = Path(source).suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        return "jsonl"
    if suffix == ".txt":
        return "text"
    return "jsonl" if text.lstrip().startswith("{") else "text"


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.rstrip("\r")


def _parse_line(line: str, kind: str) -> PromptRow:
    if kind == "text":
        return PromptRow(prompt=line.strip())
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f'expected a JSON object like {{"prompt": "..."}}, got {type(data).__name__}')
    try:
        return PromptRow.model_validate(data)
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    where = format_location(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (allowed: id, prompt, messages, response)"
    return f"{where}: {error['msg']}"
