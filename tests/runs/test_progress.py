"""Progress on stderr: Rich bars on a terminal, plain timed lines in a log (CI, Slurm, `2> log`)."""

from __future__ import annotations

import io
import time

from rich.console import Console

from cai.engines.events import StageDone
from cai.runs.progress import RichProgress


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=terminal, width=100, highlight=False), sink


def done(stage: str, records: int = 1, tokens: int = 10) -> StageDone:
    return StageDone(stage, 1, records, 5, tokens, 0)


def test_a_log_gets_a_plain_line_per_unfinished_stage_at_each_interval() -> None:
    out, sink = console(terminal=False)
    progress = RichProgress(out, interval=0.05)
    progress.begin({"critique": 4, "revision": 4})
    progress.advance(done("critique"))
    time.sleep(0.3)  # several intervals pass with no event: the timer still prints
    lines = sink.getvalue().splitlines()
    assert any(line.startswith("cai: critiques 1/4 (25%)") and "tok/s, ETA" in line for line in lines)
    assert any(line.startswith("cai: revisions 0/4 (0%)") and "ETA ?" in line for line in lines)
    assert "\x1b[" not in sink.getvalue() and "━" not in sink.getvalue()  # no bar, no terminal codes
    for _ in range(3):
        progress.advance(done("critique"))
    finished = [line for line in sink.getvalue().splitlines() if line.startswith("cai: critiques 4/4")]
    assert len(finished) == 1 and "done in" in finished[0]  # once, as the stage finishes
    progress.stop()
    assert sink.getvalue().splitlines()[-1].startswith("cai: revisions 0/4")  # unfinished stages close the log
    assert not progress._timer or not progress._timer.is_alive()


def test_the_interval_sets_how_often_lines_come() -> None:
    out, sink = console(terminal=False)
    progress = RichProgress(out, interval=60)
    progress.begin({"initial": 3})
    progress.advance(done("initial"))
    time.sleep(0.2)
    progress.stop()
    lines = sink.getvalue().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("cai: initial responses 1/3")  # only the closing line


def test_a_terminal_gets_bars_and_no_timed_lines() -> None:
    out, sink = console(terminal=True)
    progress = RichProgress(out, interval=0.05)
    progress.begin({"critique": 2})
    progress.advance(done("critique", records=2))
    time.sleep(0.2)
    progress.stop()
    text = sink.getvalue()
    assert "critiques" in text and "2/2" in text and "cai: critiques" not in text


def test_notes_are_plain_text_never_markup() -> None:
    out, sink = console(terminal=False)
    RichProgress(out, interval=30).note("loading /models/[bold]odd[/bold] name")
    assert sink.getvalue().strip() == "cai: loading /models/[bold]odd[/bold] name"


def test_quiet_prints_nothing() -> None:
    sink = io.StringIO()
    progress = RichProgress(Console(file=sink, quiet=True), interval=0.05)
    progress.begin({"initial": 1})
    progress.advance(done("initial"))
    time.sleep(0.1)
    progress.stop()
    assert sink.getvalue() == ""
