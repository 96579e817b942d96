"""The review desk: every reviewer's labels file, the assignment, and what each labelling page shows.

Labels are written only through `LabelStore`, the terminal UI's own store (append, fsync, undo as an
appended event), so a file written here is one `cai review label` resumes, and back. One lock per
reviewer serialises the appends to their file (a second tab of the same reviewer waits its turn);
one short lock guards the assignment. Locks are only ever taken in that order, a reviewer's and then
the desk's, so they cannot deadlock.

Files also change behind the server's back: a reviewer's file appended by the terminal UI, another
reviewer's file appearing. Before each use a file's (inode, size, mtime) is compared with the last
seen, and the file is read again when it differs. Files of reviewers who are not labelling here are
only read, never cut: a torn last line there may be a write in progress (it is ignored until whole).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cai.errors import InputError
from cai.review.imports import read_label_file
from cai.review.items import ReviewItem
from cai.review.labels import REVIEWER, Choice, LabelStore, check_reviewer, default_label_files, labels_path, replay
from cai.review.web.state import LEASE, Assignment, Progress

Signature = tuple[int, int, int] | None
Notice = Literal["already", "nothing"]
NOTICES: dict[str, str] = {
    "already": "That item already had your label, so nothing was added; press u to undo a label.",
    "nothing": "Nothing to undo.",
}


def signature(path: Path) -> Signature:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def reviewer_of(review: Path, path: Path) -> str | None:
    """The reviewer a default labels file belongs to (REVIEW.labels.NAME.jsonl), None for another name."""
    name = path.name.removeprefix(f"{review.stem}.labels.").removesuffix(".jsonl")
    return name if REVIEWER.match(name) else None


class Reviewer:
    """A reviewer labelling on this server: their store, the lock on their file, the file as last seen."""

    def __init__(self, review: Path, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.store = LabelStore(labels_path(review, name), name)
        self.seen = signature(self.store.path)

    def refresh(self) -> None:
        """Reopen the store when the file changed outside this server (the terminal UI appended to it)."""
        if signature(self.store.path) != self.seen:
            self.store.close()
            self.store = LabelStore(self.store.path, self.name)
            self.seen = signature(self.store.path)

    def labels(self) -> dict[str, str]:
        return {key: event.label for key, event in self.store.current().items()}

    def average_seconds(self) -> float | None:
        times = [event.seconds for event in self.store.current().values() if event.seconds is not None]
        return sum(times) / len(times) if times else None


@dataclass(frozen=True)
class Screen:
    """What a reviewer's page shows: the item on their screen (None: nothing left for them) and progress."""

    reviewer: str
    item: ReviewItem | None
    index: int | None
    shown: float
    progress: Progress
    average_seconds: float | None


class Desk:
    """One review file and everyone labelling it through this server."""

    def __init__(
        self,
        review: Path,
        items: Sequence[ReviewItem],
        overlap: float = 0.0,
        clock: Callable[[], float] = time.time,
        lease: float = LEASE,
    ):
        self.review = review
        self.items = list(items)
        self.clock = clock
        self.assignment = Assignment([item.item for item in self.items], overlap, lease)
        self.lock = threading.Lock()
        self.registry = threading.Lock()
        self.reviewers: dict[str, Reviewer] = {}
        self.others: dict[Path, Signature] = {}
        self.refresh_others()

    def reviewer(self, name: str) -> Reviewer:
        check_reviewer(name)
        with self.registry:
            found = self.reviewers.get(name)
            if found is None:
                found = Reviewer(self.review, name)
                labels = found.labels()
                with self.lock:  # registered and published at once: refresh_others never overwrites it
                    self.assignment.update(name, labels)
                    self.reviewers[name] = found
        return found

    def screen(self, name: str) -> Screen:
        person = self.reviewer(name)
        self.refresh_others()
        with person.lock:
            self._refresh(person)
            average = person.average_seconds()
            with self.lock:
                now = self.clock()
                claim = self.assignment.current(name, now)
                progress = self.assignment.progress(name)
        item = None if claim is None else self.items[claim.index]
        index = None if claim is None else claim.index
        return Screen(name, item, index, now if claim is None else claim.shown, progress, average)

    def label(self, name: str, key: str, choice: Choice, note: str | None, seconds: float | None) -> Notice | None:
        """Append one label (fsynced) and move the reviewer on; a notice instead when they had labelled it."""
        index = self.assignment.position.get(key)
        if index is None:
            raise InputError(f"item {key!r} is not in {self.review}")
        person = self.reviewer(name)
        with person.lock:
            self._refresh(person)
            if key in person.store.current():
                return "already"  # a double click, a second tab, a page from before an undo: never a duplicate
            person.store.add(key, choice, note, seconds)
            person.seen = signature(person.store.path)
            labels = person.labels()
            with self.lock:
                self.assignment.update(name, labels)
                self.assignment.advance(name, index, self.clock())
        return None

    def undo(self, name: str) -> Notice | None:
        """Take back the reviewer's latest label and put that item back on their screen."""
        person = self.reviewer(name)
        with person.lock:
            self._refresh(person)
            undone = person.store.undo()
            person.seen = signature(person.store.path)
            labels = person.labels()
            with self.lock:
                self.assignment.update(name, labels)
                if undone is not None and undone.item in self.assignment.position:
                    self.assignment.move(name, self.assignment.position[undone.item], self.clock())
        return "nothing" if undone is None else None

    def refresh_others(self) -> None:
        """Read again the labels files of reviewers not labelling here whose file changed (or appeared)."""
        known = set(self.assignment.position)
        for path in default_label_files(self.review):
            name = reviewer_of(self.review, path)
            seen = signature(path)
            if name is None or name in self.reviewers or (path in self.others and self.others[path] == seen):
                continue
            try:
                events = read_label_file(path, known).events
            except InputError:
                continue  # unreadable for now (permissions, mid-replace): try again next time
            labels = {key: event.label for key, event in replay(events).items()}
            with self.lock:
                if name not in self.reviewers:
                    self.assignment.update(name, labels)
            self.others[path] = seen

    def close(self) -> None:
        for person in list(self.reviewers.values()):
            with person.lock:
                person.store.close()

    def _refresh(self, person: Reviewer) -> None:
        before = person.seen
        person.refresh()
        if person.seen != before:
            self._publish(person)

    def _publish(self, person: Reviewer) -> None:
        labels = person.labels()
        with self.lock:
            self.assignment.update(person.name, labels)


def check_label_files(review: Path) -> list[Path]:
    """Open every labels file beside the review as `cai review label` would (a torn line is cut, a bad one is
    an error naming it), so a server never starts on a file it could not append to."""
    found = default_label_files(review)
    for path in found:
        name = reviewer_of(review, path)
        if name is not None:
            LabelStore(path, name).close()
    return found
