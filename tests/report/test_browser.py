"""The report page in a real headless browser: it renders, every plot is drawn, no console error, no request.

Chromium comes from the system packages (`make system` installs Debian's); Playwright drives it
through `executable_path` — its own browser download is never used. The page is checked by its DOM,
not by searching the HTML text. Set CAI_REPORT_SCREENSHOT=FILE to keep the screenshot (that is how
docs/images/report.png was made); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cai.report.page import PAGE_LIMIT
from cai.report.references import SIGNALS
from cai.report.run import ReportJob, run_report
from tests.report.builders import XSS, hostile_rows, synthetic_rows, write_rows

if TYPE_CHECKING:
    from playwright.sync_api import Page
from tests.report.test_cli_report import AGREEMENT

pytestmark = pytest.mark.browser
PLOTS = (
    "margin_histogram",
    "delta_length_vs_margin",
    "length_difference",
    "chosen_vs_rejected_length",
    "per_principle",
    "reliability",
    "length_by_round",
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make system` installs it (apt-get install chromium)"
    return found


@contextmanager
def opened(page_path: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    """The page open in headless Chromium, offline: (page, problems seen, URLs requested)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True).new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri(), wait_until="load")
            yield page, problems, requests
        finally:
            browser.close()


@pytest.fixture
def page_file(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    data = write_rows(tmp_path / "pairs.jsonl", synthetic_rows(400))
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps(AGREEMENT))
    page, export = tmp_path / "report.html", tmp_path / "figures.json"
    run_report(ReportJob((str(data),), page, json_out=export, agreement=agreement))
    return page, json.loads(export.read_text())


def test_page_renders_offline_with_every_plot(page_file: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    page_path, exported = page_file
    with opened(page_path) as (page, problems, requests):
        assert page.title().startswith("cai report")
        for name in PLOTS:
            figure = page.locator(f"#plot-{name}")
            assert figure.get_attribute("data-empty") == "no", name
            box = figure.locator("svg").bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 150, (name, box)
        assert page.locator("#signals tr[data-name]").count() == len(SIGNALS)
        assert page.locator("#signals tr.warn[data-name=length_bias]").count() == 1
        embedded = json.loads(page.locator("#cai-report-data").text_content() or "")
        assert embedded == exported  # the page carries the same data --json writes
        shot = Path(os.environ.get("CAI_REPORT_SCREENSHOT") or tmp_path / "report.png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    assert problems == []
    assert requests == [page_path.as_uri()]  # the page itself, nothing else: no CDN, no font, no image fetched


def test_flagged_examples_render_escaped_and_bounded(tmp_path: Path) -> None:
    """Hostile texts (XSS payloads, markup, 3,000-character lines) in every field a flagged example shows."""
    data = write_rows(tmp_path / "hostile.jsonl", hostile_rows(400))
    page_path = tmp_path / "report.html"
    report = run_report(ReportJob((str(data),), page_path))
    fired = [s.name for s in SIGNALS if s.warned(report.figures) and s.name in report.examples]
    with opened(page_path) as (page, problems, requests):
        sections = page.locator("#flagged ~ details.flagged")
        assert [sections.nth(i).get_attribute("data-name") for i in range(sections.count())] == fired
        assert len(fired) >= 10
        first = sections.first.locator(".example").first
        assert not first.is_visible()  # closed: the page stays short
        sections.first.locator("summary").click()
        assert first.locator("pre.chosen").is_visible()
        assert XSS in (first.locator("pre.prompt").text_content() or "")  # the payload shows as text
        assert XSS in (first.locator("pre.chosen").text_content() or "")
        shown_id = first.locator("code").nth(1).text_content() or ""  # the row's id, cut to 80 escaped bytes
        assert len(shown_id) > 10 and XSS.startswith(shown_id)
        where = first.locator("code.where").text_content() or ""
        assert where.startswith(f"{data}:") and where.rsplit(":", 1)[1].isdigit()
        assert page.locator("img").count() == 0 and page.locator("script").count() == 1  # the JSON blob only
        for index in range(sections.count()):
            assert 1 <= sections.nth(index).locator(".example").count() <= 3
        shot = Path(os.environ.get("CAI_REPORT_FLAGGED_SCREENSHOT") or tmp_path / "flagged.png")
        page.locator("#flagged").scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1200  # open, long lines still wrap
    assert problems == []
    assert requests == [page_path.as_uri()]
    assert page_path.stat().st_size < PAGE_LIMIT
