"""The labels store: one append-only JSONL file per reviewer, every event fsynced the moment it is given.

A label is never rewritten. Undo is an appended event (`"label": "undo"` naming the item it takes
back), so the file is a complete log and a crash can lose at most a line being written; a torn last
line is cut off when the store is reopened. Replaying the log gives each item's current label; when an
item has several (a relabel, or duplicates in imported files) the LAST one wins. `skip` is a label:
the item was seen and given no preference, and resume moves past it.

Default location: beside the review file, `REVIEW.labels.REVIEWER.jsonl` (review.jsonl →
review.labels.ana.jsonl), so several reviewers label the same review file independently.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cai.errors import InputError

Choice = Literal["A", "B", "tie", "skip"]
REVIEWER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class LabelEvent(BaseModel):
    """One line of a labels file (also the schema for labels made elsewhere)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(min_length=1)
    label: Literal["A", "B", "tie", "skip", "undo"]
    reviewer: str = Field(pattern=REVIEWER.pattern)
    note: str | None = Field(default=None, max_length=500)
    seconds: float | None = Field(default=None, ge=0)
    at: str | None = None


def check_reviewer(name: str) -> str:
    if not REVIEWER.match(name):
        raise InputError(f"--reviewer {name!r}: use letters, digits, '.', '_' or '-' (it names the labels file)")
    return name


def labels_path(review: Path, reviewer: str) -> Path:
    return review.with_name(f"{review.stem}.labels.{check_reviewer(reviewer)}.jsonl")


def default_label_files(review: Path) -> list[Path]:
    """Every reviewer's labels file beside the review file."""
    found = review.parent.glob(f"{review.stem}.labels.*.jsonl")
    return sorted(path for path in found if not path.name.endswith(".rejects.jsonl"))


def replay(events: Iterable[LabelEvent]) -> dict[str, LabelEvent]:
    """Current label per item: undo takes back that item's latest label; otherwise the last label wins."""
    stack: list[LabelEvent] = []
    for event in events:
        if event.label != "undo":
            stack.append(event)
            continue
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].item == event.item:
                del stack[index]
                break
    return {event.item: event for event in stack}


class LabelStore:
    """One reviewer's labels file, open for appending."""

    def __init__(self, path: Path, reviewer: str):
        self.path = path
        self.reviewer = check_reviewer(reviewer)
        self.events = _load(path)
        self.handle: IO[str] | None = None

    def current(self) -> dict[str, LabelEvent]:
        return replay(self.events)

    def add(self, item: str, label: Choice, note: str | None = None, seconds: float | None = None) -> LabelEvent:
        rounded = None if seconds is None else round(seconds, 1)
        event = LabelEvent(
            item=item, label=label, reviewer=self.reviewer, note=note or None, seconds=rounded, at=_now()
        )
        self.append(event)
        return event

    def undo(self) -> LabelEvent | None:
        """Take back the latest surviving label; returns it (None when there is nothing to undo)."""
        labelled = [e for e in self.events if e.label != "undo"]
        surviving = replay(self.events)
        for event in reversed(labelled):
            if surviving.get(event.item) is event:
                self.append(LabelEvent(item=event.item, label="undo", reviewer=self.reviewer, at=_now()))
                return event
        return None

    def append(self, event: LabelEvent) -> None:
        """Write one event and fsync it before returning: once the key is handled, the label is on disk."""
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("a", encoding="utf-8")
        self.handle.write(json.dumps(event.model_dump(exclude_none=True), ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.events.append(event)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load(path: Path) -> list[LabelEvent]:
    """Events of an existing file; a torn last line (a crash mid-write) is cut off, any other bad line is an error."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(cut)
        data = data[:cut]
    events = []
    for number, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        if raw.strip():
            try:
                events.append(LabelEvent.model_validate_json(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "row"
                raise InputError(f"{path}:{number}: {where}: {first['msg']} (the labels file was edited?)") from None
    return events
