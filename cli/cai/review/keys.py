"""The labelling screen's keys, in one place: the footer shows them, docs/review.md lists them."""

from __future__ import annotations

from textual.binding import Binding

BINDINGS = [
    Binding("a", "label('A')", "A better"),
    Binding("b", "label('B')", "B better"),
    Binding("t", "label('tie')", "tie"),
    Binding("s", "label('skip')", "skip"),
    Binding("u", "undo", "undo"),
    Binding("n", "note", "note"),
    Binding("q", "quit", "quit"),
    Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    Binding("escape", "cancel_note", "cancel note", show=False),
]
