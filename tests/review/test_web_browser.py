"""`cai review serve` as a real process, driven in headless Chromium (Debian's, see tests/report/test_browser.py).

Two reviewers label at once in two browser contexts, through a SIGKILL and a restart; hostile model
output renders as text; on --host 0.0.0.0 nothing answers without the token; labelling works from
the keyboard alone; 20,000-character responses wrap without breaking the layout. Set
CAI_REVIEW_SCREENSHOT=FILE (and optionally CAI_REVIEW_SCREENSHOT_REVIEW=REVIEW.jsonl) to keep the
screenshot docs/images/review-serve.png was made from.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cai.review.items import ReviewItem, read_review
from cai.review.labels import labels_path
from tests.report.test_browser import LAUNCH_ARGS, chromium
from tests.review.helpers import read_jsonl
from tests.review.test_web_app import every_path
from tests.review.web_builders import hostile, item, write_items
from tests.review.web_served import Served

pytestmark = [pytest.mark.browser, pytest.mark.asyncio]
LABELS = {"a": "A", "b": "B", "t": "tie", "s": "skip"}


@asynccontextmanager
async def launched() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium(), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Reviewer:
    """One person in their own browser context; `clicks` is what they did, in order, as the labels file should say."""

    def __init__(self, page: Any, name: str):
        self.page, self.name = page, name
        self.clicks: list[tuple[str, str]] = []
        self.problems: list[str] = []
        page.on("console", lambda message: self.problems.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    @classmethod
    async def sign_in(cls, browser: Any, served: Served, name: str, width: int = 1280) -> Reviewer:
        context = await browser.new_context(viewport={"width": width, "height": 900})
        self = cls(await context.new_page(), name)
        await self.page.goto(served.url)
        await self.page.fill("#reviewer", name)
        async with self.page.expect_navigation():
            await self.page.press("#reviewer", "Enter")
        assert self.page.url == f"{served.base}/label/{name}"
        return self

    async def item(self) -> str:
        return str(await self.page.locator("#item").get_attribute("data-item"))

    async def press(self, key: str) -> None:
        """A key, then the next page: it is only shown once the server has fsynced the label."""
        shown = await self.item()
        async with self.page.expect_navigation() as navigation:
            await self.page.keyboard.press(key)
        answer = await navigation.value
        assert answer is not None and answer.status == 200, (key, answer and await answer.text())
        self.clicks.append((self.clicks[-1][0], "undo") if key == "u" else (shown, LABELS[key]))

    def written(self, review: Path) -> list[tuple[str, str]]:
        return [(row["item"], row["label"]) for row in read_jsonl(labels_path(review, self.name))]


def first_open(
    items: list[ReviewItem], mine: list[tuple[str, str]], other: list[tuple[str, str]], not_: str = ""
) -> str:
    """The rule the app follows after a restart: the first item in review order I have not labelled and
    nobody else has labelled (a skip does not count)."""
    done = {key for key, label in mine if label != "undo"}
    taken = {key for key, label in other if label not in ("skip", "undo")} | {not_}
    return next(it.item for it in items if it.item not in done and it.item not in taken)


async def test_two_reviewers_label_at_once_and_a_sigkill_loses_nothing(tmp_path: Path) -> None:
    review, items = write_items(tmp_path, 140)
    plans = {"ana": "abtsa" * 2 + "u" + "abtsb" * 8 + "a", "bo": "bbats" * 3 + "u" + "tsbaa" * 7 + "b"}
    assert all(len(plan.replace("u", "")) == 51 for plan in plans.values())  # 50 items each, one relabelled
    served = Served(review, "--overlap", "0").start()
    try:
        async with launched() as browser:
            ana, bo = [await Reviewer.sign_in(browser, served, name) for name in plans]
            people = (ana, bo)

            async def run(person: Reviewer, keys: str) -> None:
                for key in keys:
                    await person.press(key)

            await asyncio.gather(*(run(p, plans[p.name][:26]) for p in people))
            served.kill()  # mid-session: both pages still show an item
            assert [p.written(review) for p in people] == [p.clicks for p in people]
            served.start()
            await ana.page.reload()
            assert await ana.item() == first_open(items, ana.clicks, bo.clicks)
            await bo.page.reload()
            assert await bo.item() == first_open(items, bo.clicks, ana.clicks, not_=await ana.item())
            await asyncio.gather(*(run(p, plans[p.name][26:]) for p in people))
            assert [p.written(review) for p in people] == [p.clicks for p in people]
            assert [len(p.clicks) for p in people] == [52, 52]
            decided = [{key for key, label in p.clicks if label not in ("skip", "undo")} for p in people]
            assert decided[0] & decided[1] == set()  # overlap 0: no item decided by both
            assert ana.problems == [] and bo.problems == []
    finally:
        served.stop()


async def test_hostile_model_output_renders_as_text_and_nothing_leaves(tmp_path: Path) -> None:
    review, items = write_items(tmp_path, 3, hostile)
    with Served(review) as served:
        async with launched() as browser:
            requests: list[str] = []
            dialogs: list[str] = []
            person = await Reviewer.sign_in(browser, served, "ana")
            person.page.context.on("request", lambda request: requests.append(request.url))
            person.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            await person.page.reload()
            page = person.page
            assert await page.locator("#response-a .text").text_content() == items[0].response_A
            assert await page.locator("#response-b .text").text_content() == items[0].response_B
            assert await page.locator(".turn.user .text").text_content() == items[0].conversation[1].content
            async with page.expect_navigation():
                await page.keyboard.press("d")
            assert "<script>" in (await page.locator("#diff").text_content() or "")
            async with page.expect_navigation():
                await page.get_by_role("button", name="A is better").click()
            assert await person.item() == items[1].item
            assert await page.evaluate("typeof window.__xss") == "undefined"
            assert await page.locator("#item img, #item svg, #item iframe, #item script").count() == 0
    allowed = {"/label/ana", "/label/ana?diff=1", "/static/review.css", "/static/review.js"}
    assert {url.removeprefix(served.base) for url in requests} <= allowed, requests
    assert dialogs == [] and person.problems == []
    assert read_jsonl(labels_path(review, "ana"))[0]["label"] == "A"


async def test_on_all_interfaces_no_route_answers_without_the_token(tmp_path: Path) -> None:
    review, _ = write_items(tmp_path, 3)
    with Served(review, host="0.0.0.0") as served:
        async with launched() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            assert (await page.goto(served.base + "/label/ana")).status == 401
            for path in every_path():
                for method in ("GET", "POST", "PUT", "DELETE"):
                    answer = await context.request.fetch(served.base + path, method=method, max_redirects=0)
                    assert answer.status in (401, 403), (method, path, answer.status)
            assert (await page.goto(served.url)).status == 200
            assert (await context.request.get(served.base + "/label/ana")).status == 200
    assert not labels_path(review, "ana").exists()


async def test_labelling_from_the_keyboard_alone(tmp_path: Path) -> None:
    review, items = write_items(tmp_path, 5)
    with Served(review) as served:
        async with launched() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(served.url)
            await page.keyboard.type("kim")  # the name field has the focus
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            person = Reviewer(page, "kim")
            await page.keyboard.press("n")
            await page.keyboard.type("a tie at best, but A is shorter")  # letters that are keys elsewhere
            await page.keyboard.press("Enter")
            assert await person.item() == items[0].item and not labels_path(review, "kim").exists()
            await person.press("a")
            async with page.expect_navigation():
                await page.keyboard.press("d")
            assert await page.locator("#diff").is_visible()
            await person.press("b")
            await person.press("u")
            await person.press("t")
            for _ in range(12):  # the buttons are reachable with Tab, and Enter presses the focused one
                await page.keyboard.press("Tab")
                if await page.evaluate("document.activeElement.dataset.key") == "a":
                    break
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            person.clicks.append((items[2].item, "A"))
    rows = read_jsonl(labels_path(review, "kim"))
    assert [(row["item"], row["label"]) for row in rows] == person.clicks
    assert person.clicks[:4] == [
        (items[0].item, "A"),
        (items[1].item, "B"),
        (items[1].item, "undo"),
        (items[1].item, "tie"),
    ]
    assert rows[0]["note"] == "a tie at best, but A is shorter" and "note" not in rows[1]
    assert person.problems == []


def long_item(index: int) -> ReviewItem:
    words = " ".join(f"word{n % 97}" for n in range(3000))[:20_000]
    unbroken = "x" * 20_000
    return item(index, prompt=words[:3000], a=words if index % 2 == 0 else unbroken, b=unbroken + "\n" + words)


async def test_long_texts_wrap_side_by_side_without_breaking_the_layout(tmp_path: Path) -> None:
    review, _ = write_items(tmp_path, 2, long_item)
    with Served(review) as served:
        async with launched() as browser:
            person = await Reviewer.sign_in(browser, served, "ana")
            page = person.page
            for _ in range(2):
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1280
                a, b = (
                    await page.locator("#response-a").bounding_box(),
                    await page.locator("#response-b").bounding_box(),
                )
                assert a is not None and b is not None
                assert a["y"] == b["y"] and a["x"] + a["width"] <= b["x"] and a["width"] > 500
                bar = await page.locator("footer.decide").bounding_box()
                assert bar is not None and bar["y"] + bar["height"] <= 900  # the buttons stay on screen
                await person.press("s")
            narrow = await Reviewer.sign_in(browser, served, "bo", width=600)
            a, b = (
                await narrow.page.locator("#response-a").bounding_box(),
                await narrow.page.locator("#response-b").bounding_box(),
            )
            assert a is not None and b is not None and b["y"] > a["y"] + a["height"]  # stacked
            assert await narrow.page.evaluate("document.documentElement.scrollWidth") <= 600


async def test_screenshot_of_the_labelling_page(tmp_path: Path) -> None:
    chosen = os.environ.get("CAI_REVIEW_SCREENSHOT_REVIEW")  # a copy is served: no labels file lands beside it
    review = tmp_path / "review.jsonl"
    if chosen:
        review.write_bytes(Path(chosen).read_bytes())
    else:
        write_items(tmp_path, 12)
    items = read_review(review)
    with Served(review) as served:
        async with launched() as browser:
            person = await Reviewer.sign_in(browser, served, "ana")
            for key in "ab":
                await person.press(key)
            async with person.page.expect_navigation():
                await person.page.keyboard.press("d")
            shot = Path(os.environ.get("CAI_REVIEW_SCREENSHOT") or tmp_path / "review-serve.png")
            await person.page.set_viewport_size({"width": 1280, "height": 600})
            await person.page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000 and await person.item() == items[2].item
            async with person.page.expect_navigation():
                await person.page.keyboard.press("u")
            async with person.page.expect_navigation():
                await person.page.keyboard.press("u")
    assert [row["label"] for row in read_jsonl(labels_path(review, "ana"))] == ["A", "B", "undo", "undo"]
