"""Label in the browser, resume in the terminal, and back: one labels file, one store, one log."""

from __future__ import annotations

from pathlib import Path

import pytest

from cai.review.labels import LabelStore, labels_path
from cai.review.tui import LabelApp
from tests.review.helpers import read_jsonl
from tests.review.test_web_app import label, make_app, shown, signed_in
from tests.review.web_builders import write_items


@pytest.mark.asyncio
async def test_browser_then_terminal_then_browser_on_one_file(tmp_path: Path) -> None:
    review = write_items(tmp_path, 6)
    path, items = review
    browser = signed_in(make_app(review))
    for _ in range(2):
        item, csrf, _ = shown(browser, "ana")
        label(browser, "ana", item, "A", csrf)

    store = LabelStore(labels_path(path, "ana"), "ana")
    terminal = LabelApp(items, store, clock=lambda: 0.0)
    async with terminal.run_test(size=(80, 24)) as pilot:
        assert terminal.index == 2  # the terminal resumes after the browser's two labels
        await pilot.press("b", "q")
    store.close()

    item, csrf, page = shown(browser, "ana")  # the server, still running, sees the terminal's label
    assert item == items[3].item and '<b id="mine">3</b>' in page
    label(browser, "ana", item, "tie", csrf)
    for _ in range(2):  # undo in the browser takes back the browser's label, then the terminal's
        browser.post("/label/ana/undo", data={"csrf": csrf})
    assert shown(browser, "ana")[0] == items[2].item

    rows = [(row["item"], row["label"]) for row in read_jsonl(labels_path(path, "ana"))]
    assert rows == [
        (items[0].item, "A"),
        (items[1].item, "A"),
        (items[2].item, "B"),
        (items[3].item, "tie"),
        (items[3].item, "undo"),
        (items[2].item, "undo"),
    ]
    again = LabelApp(items, LabelStore(labels_path(path, "ana"), "ana"), clock=lambda: 0.0)
    assert again.index == 2
