"""Labels made elsewhere (a spreadsheet, an annotation tool) as JSONL or CSV, validated row by row.

The schema is the labels file's own (`LabelEvent`): `item` (the review item's id), `label` (A, B,
tie or skip — the letters as shown in the review file's response_A / response_B), `reviewer`, and
optional `note` and `seconds`. CSV has the same names as header columns; extra columns are errors.
A bad row does not stop the good ones: it is kept, with its line and reason, for the quarantine file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cai.errors import InputError
from cai.review.labels import LabelEvent


@dataclass(frozen=True)
class BadLabel:
    path: str
    line: int
    reason: str  # invalid_json | invalid_row | unknown_item
    detail: str
    raw: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason, "detail": self.detail, "raw": self.raw}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}: {self.detail}"


@dataclass
class LabelFile:
    path: Path
    events: list[LabelEvent] = field(default_factory=list)
    bad: list[BadLabel] = field(default_factory=list)


def read_label_file(path: Path, known: set[str], reviewer: str | None = None) -> LabelFile:
    """Every valid row of a JSONL or CSV labels file; `reviewer` fills rows that do not name one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the labels file {path}: {exc}") from None
    result = LabelFile(path)
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)
    for number, raw, data in rows:
        try:
            if isinstance(data, str):
                raise _Bad("invalid_json", data)
            event = _validate(data, reviewer)
            if event.item not in known:
                raise _Bad("unknown_item", f"item {event.item!r} is not in the review file")
            result.events.append(event)
        except _Bad as bad:
            result.bad.append(BadLabel(str(path), number, bad.reason, bad.detail, raw[:500]))
    return result


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _validate(data: Any, reviewer: str | None) -> LabelEvent:
    if not isinstance(data, dict):
        raise _Bad("invalid_row", f"expected an object, got {type(data).__name__}")
    if reviewer is not None and not data.get("reviewer"):
        data = {**data, "reviewer": reviewer}
    try:
        return LabelEvent.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "row"
        raise _Bad("invalid_row", f"{where}: {first['msg']}") from None


def _jsonl_rows(text: str) -> Iterator[tuple[int, str, Any]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, raw, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, raw, f"invalid JSON ({exc.msg} at column {exc.colno})"


def _csv_rows(text: str) -> Iterator[tuple[int, str, Any]]:
    """CSV rows as dicts; empty cells are missing values. Line numbers count the header as line 1."""
    reader = csv.DictReader(io.StringIO(text))
    lines = text.splitlines()
    for row in reader:
        number = reader.line_num
        raw = lines[number - 1] if number - 1 < len(lines) else ""
        if None in row:
            yield number, raw, {"row": "has more cells than the header"}
            continue
        yield number, raw, {key: value for key, value in row.items() if value not in ("", None)}
