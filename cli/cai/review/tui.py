"""The labelling screen: the conversation, then responses A and B, and one key per decision.

The app holds no labels of its own: every key goes straight to the `LabelStore`, which appends and
fsyncs it before the screen moves on, so quitting, Ctrl-C or a crash loses at most the item on
screen. The item shown is always the first unlabelled one after the last labelled (at start: the
first unlabelled), so reopening resumes where the reviewer stopped. The judge's verdict is in the
review file but never shown. Narrow terminals stack A over B; from WIDE columns they sit side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Container, VerticalScroll
from textual.widgets import Footer, Input, Static

from cai.review.items import ReviewItem
from cai.review.keys import BINDINGS
from cai.review.labels import Choice, LabelStore

WIDE = 140
ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}

CSS = """
#progress { height: 1; background: $primary-background; color: $text; padding: 0 1; }
#body { height: 1fr; }
#conversation { padding: 0 1; margin-bottom: 1; }
#responses { layout: vertical; height: auto; }
.wide #responses { layout: horizontal; }
.response {
    border: round $secondary; border-title-color: $text; border-title-style: bold;
    padding: 0 1; height: auto; width: 1fr;
}
#note { display: none; }
#note.open { display: block; }
"""


class LabelApp(App[None]):
    """One reviewer labelling one review file."""

    CSS = CSS
    BINDINGS = BINDINGS  # type: ignore[assignment]  # Textual accepts a list of Binding
    TITLE = "cai review label"

    def __init__(self, items: Sequence[ReviewItem], store: LabelStore, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.items = list(items)
        self.store = store
        self.clock = clock
        self.index: int | None = self._next_unlabelled(-1)
        self.shown_at = clock()
        self.pending_note: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="progress")
        with VerticalScroll(id="body"):
            yield Static(id="conversation")
            with Container(id="responses"):
                yield Static(id="response-a", classes="response")
                yield Static(id="response-b", classes="response")
        yield Input(placeholder="one-line note for this item, Enter to keep, Esc to cancel", id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#response-a").border_title = "A"
        self.query_one("#response-b").border_title = "B"
        self.set_class(self.size.width >= WIDE, "wide")
        self.set_interval(1.0, self._tick)
        self._show()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "wide")

    @property
    def labelled(self) -> int:
        current = self.store.current()
        return sum(1 for item in self.items if item.item in current)

    def _next_unlabelled(self, after: int) -> int | None:
        current = self.store.current()
        open_ = [i for i, item in enumerate(self.items) if item.item not in current]
        return next((i for i in open_ if i > after), open_[0] if open_ else None)

    def _show(self) -> None:
        """Put the current item (or the end message) on screen and restart its clock."""
        self.shown_at = self.clock()
        conversation, first, second = self.query_one("#conversation", Static), *self.query(".response")
        if self.index is None:
            conversation.update(Text(f"All {len(self.items)} items are labelled. q quits, u undoes the last label."))
            first.display = second.display = False
        else:
            item = self.items[self.index]
            turns = Text()
            for turn in item.conversation:
                turns.append(f"{ROLES[turn.role]}: ", style="bold")
                turns.append(turn.content + "\n")
            turns.rstrip()
            conversation.update(turns)
            first.display = second.display = True
            assert isinstance(first, Static) and isinstance(second, Static)
            first.update(Text(item.response_A))
            second.update(Text(item.response_B))
            self.query_one("#body").scroll_home(animate=False)
        self._tick()

    def _tick(self) -> None:
        position = "done" if self.index is None else f"{self.index + 1} / {len(self.items)}"
        seconds = self.clock() - self.shown_at
        note = "  [note]" if self.pending_note else ""
        times = [e.seconds for e in self.store.current().values() if e.seconds is not None]
        average = f" (avg {sum(times) / len(times):.0f} s)" if times else ""
        line = f"{position}  ·  labelled {self.labelled}  ·  {self.store.reviewer}  ·  {seconds:.0f} s{average}{note}"
        self.query_one("#progress", Static).update(Text(line))

    def action_label(self, choice: Choice) -> None:
        if self.index is None:
            return
        item = self.items[self.index]
        self.store.add(item.item, choice, self.pending_note, self.clock() - self.shown_at)
        self.pending_note = None
        self.index = self._next_unlabelled(self.index)
        self._show()

    def action_undo(self) -> None:
        undone = self.store.undo()
        if undone is None:
            self.notify("nothing to undo")
            return
        self.index = next((i for i, item in enumerate(self.items) if item.item == undone.item), self.index)
        self._show()

    def action_note(self) -> None:
        if self.index is None:
            return
        note = self.query_one("#note", Input)
        note.add_class("open")
        note.value = self.pending_note or ""
        note.focus()

    def action_cancel_note(self) -> None:
        self._close_note()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.pending_note = event.value.strip() or None
        self._close_note()
        self._tick()

    def _close_note(self) -> None:
        note = self.query_one("#note", Input)
        note.remove_class("open")
        self.query_one("#body").focus()

    def on_ready(self) -> None:
        self.query_one("#body").focus()
