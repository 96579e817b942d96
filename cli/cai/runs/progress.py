"""Progress on stderr while a run works: bars on a terminal, plain lines at a steady interval in a log.

Stages overlap (records advance on their own), so a stage's rate is its tokens over the time since
generation began: the rates add up to the run's. With stderr not a terminal (CI, Slurm, `2> log`) Rich
draws nothing until the end, so a long run would look hung: there a timer prints one line per unfinished
stage every `interval` seconds (rows done of total, rate, ETA), and one line as each stage finishes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars
from rich.text import Text

from cai.engines.events import StageDone

STAGE_LABELS = {
    "initial": "initial responses",
    "critique": "critiques",
    "revision": "revisions",
    "judge": "judged pairs",
    "pointwise": "pointwise rows",
    "pairwise": "pairwise rows",
    "rank": "ranked rows",
    "answer_a": "answers A",
    "answer_b": "answers B",
    "candidates": "prompts sampled",
}


class Progress(Protocol):
    """What a run tells the user while it works; the CLI supplies one, tests record it."""

    def note(self, message: str) -> None: ...

    def begin(self, totals: Mapping[str, int]) -> None:
        """Stage name → number of records the stage will process in the whole run."""

    def advance(self, event: StageDone) -> None: ...


@dataclass
class _Stage:
    label: str
    total: int
    done: int = 0
    tokens: int = 0
    reported: bool = False  # its final line was printed (log mode)


class RichProgress:
    """One bar per stage on a terminal; plain timed lines in a log. Notes are printed as plain text."""

    def __init__(self, console: Console, interval: float):
        self.console = console
        self.interval = interval
        self.log = not console.is_terminal
        self.bars = Bars(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.stages: dict[str, _Stage] = {}
        self.total_tokens = 0
        self.began = time.perf_counter()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def note(self, message: str) -> None:
        self.console.print(Text.assemble(("cai:", "dim"), " ", message))

    def begin(self, totals: Mapping[str, int]) -> None:
        for stage, total in totals.items():
            if total:
                self.stages[stage] = _Stage(STAGE_LABELS[stage], total)
                if not self.log:
                    self.tasks[stage] = self.bars.add_task(STAGE_LABELS[stage], total=total, rate="")
        self.began = time.perf_counter()
        if self.console.quiet:
            return
        if self.log:
            self._timer = threading.Thread(target=self._tick, name="cai-progress", daemon=True)
            self._timer.start()
        else:
            self.bars.start()

    def advance(self, event: StageDone) -> None:
        """Stages that generate nothing themselves (score's row kinds) show the run's rate."""
        self.total_tokens += event.output_tokens
        stage = self.stages.get(event.stage)
        if stage is None:
            return
        stage.done += event.records
        stage.tokens += event.output_tokens
        if event.stage in self.tasks:
            self.bars.update(self.tasks[event.stage], advance=event.records, rate=f"{self._rate(stage):6.0f} tok/s")
        if self.log and stage.done >= stage.total and not stage.reported:
            self._line(stage)

    def stop(self) -> None:
        self._stop.set()
        if self._timer is None:
            self.bars.stop()
            return
        self._timer.join()
        for stage in self.stages.values():
            if not stage.reported:
                self._line(stage)

    def _rate(self, stage: _Stage) -> float:
        return (stage.tokens or self.total_tokens) / max(time.perf_counter() - self.began, 1e-9)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            for stage in list(self.stages.values()):
                if not stage.reported:
                    self._line(stage)

    def _line(self, stage: _Stage) -> None:
        """`cai: critiques 5/8 (62%), 42 tok/s, ETA 0:00:12` — the bar's facts as one line of text."""
        elapsed = time.perf_counter() - self.began
        share = stage.done / stage.total
        eta = _clock(elapsed * (stage.total - stage.done) / stage.done) if stage.done else "?"
        finished = stage.done >= stage.total
        stage.reported = stage.reported or finished
        tail = f"done in {_clock(elapsed)}" if finished else f"ETA {eta}"
        self.note(f"{stage.label} {stage.done}/{stage.total} ({share:.0%}), {self._rate(stage):.0f} tok/s, {tail}")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
