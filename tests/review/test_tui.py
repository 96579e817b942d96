"""The labelling screen driven headlessly with Textual's Pilot: keys → exactly the labels file expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from cai.review.items import ReviewItem
from cai.review.labels import LabelStore, labels_path
from cai.review.tui import LabelApp
from tests.review.conftest import make_review
from tests.review.helpers import read_jsonl

Review = tuple[Path, list[ReviewItem]]


def open_app(review: Review, reviewer: str = "ana") -> tuple[LabelApp, LabelStore]:
    path, items = review
    store = LabelStore(labels_path(path, reviewer), reviewer)
    return LabelApp(items, store, clock=lambda: 0.0), store


def shown(app: LabelApp) -> str:
    assert app.index is not None
    return app.items[app.index].item


@pytest.mark.asyncio
async def test_keys_write_exactly_the_labels_expected(review: Review) -> None:
    path, items = review
    app, store = open_app(review)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "b", "t", "s")
    store.close()
    rows = read_jsonl(labels_path(path, "ana"))
    assert [(r["item"], r["label"], r["reviewer"]) for r in rows] == [
        (items[0].item, "A", "ana"),
        (items[1].item, "B", "ana"),
        (items[2].item, "tie", "ana"),
        (items[3].item, "skip", "ana"),
    ]
    assert all(r["seconds"] == 0.0 and r["at"] for r in rows)


@pytest.mark.asyncio
async def test_undo_goes_back_and_the_relabel_wins(review: Review) -> None:
    path, items = review
    app, store = open_app(review)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "b")
        assert shown(app) == items[2].item
        await pilot.press("u")
        assert shown(app) == items[1].item  # back on the item whose label was taken back
        await pilot.press("a")
        assert shown(app) == items[2].item
    store.close()
    labels = [(r["item"], r["label"]) for r in read_jsonl(labels_path(path, "ana"))]
    assert labels == [(items[0].item, "A"), (items[1].item, "B"), (items[1].item, "undo"), (items[1].item, "A")]
    reopened = LabelStore(labels_path(path, "ana"), "ana").current()
    assert {key: event.label for key, event in reopened.items()} == {items[0].item: "A", items[1].item: "A"}


@pytest.mark.asyncio
async def test_resume_after_quit_starts_at_the_first_unlabelled_item(review: Review) -> None:
    _, items = review
    app, store = open_app(review)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a", "b", "q")
    store.close()
    again, store = open_app(review)
    async with again.run_test(size=(80, 24)) as pilot:
        assert shown(again) == items[2].item
        progress = str(again.query_one("#progress").render())
        assert progress.startswith("3 / 5") and "labelled 2" in progress
        await pilot.press("u")  # undo works across sessions: the log is the state
        assert shown(again) == items[1].item
    store.close()


@pytest.mark.asyncio
async def test_note_is_attached_to_the_next_label_and_typing_it_labels_nothing(review: Review) -> None:
    path, items = review
    app, store = open_app(review)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", *"bad tab", "enter", "b")
    store.close()
    rows = read_jsonl(labels_path(path, "ana"))
    assert [(r["item"], r["label"], r.get("note")) for r in rows] == [(items[0].item, "B", "bad tab")]


@pytest.mark.asyncio
async def test_the_end_screen_after_the_last_item_and_other_reviewers_are_independent(review: Review) -> None:
    path, items = review
    app, store = open_app(review)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"aaaaa")
        assert app.index is None
        assert "All 5 items are labelled" in str(app.query_one("#conversation").render())
        await pilot.press("a")  # nothing left to label: no new line
    store.close()
    assert len(read_jsonl(labels_path(path, "ana"))) == 5
    other, store = open_app(review, "ben")
    async with other.run_test(size=(80, 24)):
        assert shown(other) == items[0].item
    store.close()


@pytest.mark.asyncio
async def test_wide_terminal_puts_a_and_b_side_by_side(review: Review) -> None:
    app, store = open_app(review)
    async with app.run_test(size=(160, 40)):
        first, second = app.query_one("#response-a"), app.query_one("#response-b")
        assert app.has_class("wide")
        assert first.region.y == second.region.y and first.region.x < second.region.x
    async with open_app(review)[0].run_test(size=(80, 24)) as pilot:
        first, second = pilot.app.query_one("#response-a"), pilot.app.query_one("#response-b")
        assert first.region.y < second.region.y
    store.close()


@pytest.mark.asyncio
async def test_long_responses_scroll_with_the_keyboard(tmp_path: Path) -> None:
    from cai.review.items import write_review

    path, items = make_review(tmp_path, count=2, n=2)
    long = items[0].model_copy(update={"response_A": "\n".join(f"line {i}" for i in range(80))})
    write_review(path, [long, items[1]])
    app, store = open_app((path, [long, items[1]]))
    async with app.run_test(size=(80, 24)) as pilot:
        body = app.query_one("#body")
        assert body.max_scroll_y > 0 and body.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert body.scroll_y == 0
    store.close()
