"""The page's flagged examples: shown for the signals that fire, escaped, cut, and the page under its size limit."""

from __future__ import annotations

import re
from pathlib import Path

from cai.report.page import PAGE_LIMIT
from cai.report.references import SIGNALS
from cai.report.run import ReportJob, run_report
from tests.report.builders import XSS, hostile_rows, synthetic_rows, write_rows


def test_examples_show_for_firing_signals_only_with_file_and_line(tmp_path: Path) -> None:
    data = write_rows(tmp_path / "pairs.jsonl", synthetic_rows(200))
    page = tmp_path / "report.html"
    report = run_report(ReportJob((str(data),), page))
    warned = [s.name for s in SIGNALS if s.warned(report.figures) and s.name in report.examples]
    html = page.read_text(encoding="utf-8")
    assert re.findall(r'<details class="flagged" data-name="([a-z_]+)"', html) == warned
    assert "length_bias" in warned and "refusal_rejected" not in warned
    for example in report.examples["length_bias"].examples:
        assert f'<code class="where">{data}:' in html and example.where.startswith(f"{data}:")


def test_hostile_texts_are_escaped_cut_and_the_page_stays_under_its_limit(tmp_path: Path) -> None:
    data = write_rows(tmp_path / "hostile.jsonl", hostile_rows(3000))
    page = tmp_path / "report.html"
    report = run_report(ReportJob((str(data),), page))
    html = page.read_text(encoding="utf-8")
    fired = [s.name for s in SIGNALS if s.warned(report.figures) and s.name in report.examples]
    assert len(fired) >= 10, fired  # most of the section's budget is in use
    assert "<script>" not in html.replace('<script type="application/json" id="cai-report-data">', "")
    assert "<img" not in html and "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
    assert XSS not in html
    assert len(html.encode("utf-8")) < PAGE_LIMIT


def test_scatter_plots_draw_at_most_max_points() -> None:
    from cai.report.plots import MAX_POINTS, _stride

    for count in (10, MAX_POINTS, MAX_POINTS + 1, 2 * MAX_POINTS - 1, 100_000):
        kept = _stride([float(i) for i in range(count)])
        assert len(kept) <= MAX_POINTS and kept[0] == 0.0
        assert len(kept) >= min(count, MAX_POINTS // 2)  # an even stride, not a handful
