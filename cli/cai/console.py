"""What the user sees on stderr: per-stage progress bars while a run works, a summary table after.

stdout is reserved for data rows, so every console here writes to stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cai.dryrun import DryRun
from cai.events import StageDone
from cai.pipeline import Summary
from cai.scoring import ScoreSummary
from cai.tally import Tally

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
}


def stderr_console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet, highlight=False)


class RichProgress:
    """One bar per stage (records done of the run's total) with that stage's generated tokens/s.

    Stages overlap (records advance on their own), so a stage's rate is its tokens over the time
    since generation began: the bars' rates add up to the run's.
    """

    def __init__(self, console: Console):
        self.console = console
        self.bars = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.tokens: dict[str, int] = {}
        self.total_tokens = 0
        self.began = time.perf_counter()

    def note(self, message: str) -> None:
        self.console.print(f"[dim]cai:[/dim] {message}")

    def begin(self, plan: Mapping[str, int]) -> None:
        for stage, total in plan.items():
            if total:
                self.tasks[stage] = self.bars.add_task(STAGE_LABELS[stage], total=total, rate="")
                self.tokens[stage] = 0
        self.began = time.perf_counter()
        if not self.console.quiet:
            self.bars.start()

    def advance(self, event: StageDone) -> None:
        """Stages that generate nothing themselves (score's row kinds) show the run's rate."""
        self.total_tokens += event.output_tokens
        if event.stage in self.tasks:
            self.tokens[event.stage] += event.output_tokens
            tokens = self.tokens[event.stage] or self.total_tokens
            rate = tokens / max(time.perf_counter() - self.began, 1e-9)
            self.bars.update(self.tasks[event.stage], advance=event.records, rate=f"{rate:6.0f} tok/s")

    def stop(self) -> None:
        self.bars.stop()


def where_rows_went(title: str, summary: Tally, written: tuple[str, str]) -> Table:
    """The accounting both commands share: rows in = already done + written + dropped + quarantined."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("rows in", str(summary.rows_in))
    if summary.already_done:
        table.add_row("already done", f"{summary.already_done} (resumed)")
    table.add_row(written[0], f"{written[1]} → {summary.output}")
    table.add_row("dropped", _counts(summary.dropped))
    table.add_row("quarantined", _counts(summary.quarantined))
    if summary.dropped or summary.quarantined:
        table.add_row("rejects file", summary.rejects)
    return table


def summary_table(summary: Summary) -> Table:
    table = where_rows_went("cai revise", summary, ("pairs out", str(summary.pairs_out)))
    rate = summary.output_tokens / summary.generate_seconds if summary.generate_seconds else 0.0
    if summary.pair_judgements:
        judged = summary.pair_judgements
        consistency = summary.position_consistent / judged
        mean_margin = summary.abs_margin_total / judged
        figures = f"{judged} pairs, position-consistent {consistency:.0%}, mean |margin| {mean_margin:.3f}"
        table.add_row("judge", figures)
    table.add_row("tokens", _tokens(summary))
    table.add_row("cut at max_tokens", f"{summary.length_stops} generations")
    table.add_row("speed", f"{rate:.0f} generated tok/s")
    _engine_row(table, summary)
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s (model load {summary.load_seconds:.1f} s)")
    return table


def _counts(counts: Mapping[str, int]) -> str:
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
    return f"{sum(counts.values())}" + (f" ({reasons})" if reasons else "")


def score_table(summary: ScoreSummary) -> Table:
    """Counts, then the judge's reliability: the figures to read before training on its labels."""
    table = where_rows_went("cai score", summary, ("rows scored", _counts(summary.scored)))
    figures = summary.reliability()
    table.add_row("pair judgements", str(figures["pair_judgements"]))
    table.add_row("position-consistent", _rate(figures["position_consistency_rate"]))
    mean_margin = figures["mean_abs_margin"]
    table.add_row("mean |margin|", "n/a" if mean_margin is None else f"{mean_margin:.3f}")
    table.add_row("parse failures", str(figures["parse_failures"]))
    agreement = figures["agreement_with_labels"]
    table.add_row("agrees with labels", f"{_rate(agreement)} of {figures['labelled_rows']} labelled rows")
    table.add_row("tokens", _tokens(summary))
    _engine_row(table, summary)
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s (model load {summary.load_seconds:.1f} s)")
    return table


def plan_table(plan: DryRun) -> Table:
    """A dry run's plan: where every row would go, then requests and prompt tokens per pass."""
    title = f"{plan.command} --dry-run (no engine built, no file written)"
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("input", plan.input)
    table.add_row("rows in", str(plan.rows_in))
    table.add_row("already done", f"{plan.already_done} (in {plan.output})" if plan.already_done else "0")
    table.add_row("to do", str(plan.todo))
    table.add_row("dropped", _counts(plan.dropped))
    table.add_row("quarantined", _counts(plan.quarantined) + (f" → {plan.rejects}" if plan.quarantined else ""))
    if plan.torn_lines:
        table.add_row("torn lines", f"{plan.torn_lines} (the run would cut them off)")
    for step in plan.passes:
        tokens = (
            "" if step.prompt_tokens is None else f", {'' if step.exact else '≥ '}{step.prompt_tokens} prompt tokens"
        )
        table.add_row(f"pass {step.name}", f"{step.requests} requests{tokens}")
    total = plan.prompt_tokens
    exact = all(step.exact for step in plan.passes)
    table.add_row("prompt tokens", "n/a" if total is None else f"{'' if exact else '≥ '}{total}")
    table.add_row("counted by", plan.tokens)
    if not plan.todo:
        table.add_row("engine", "not needed: the run would load no model")
    return table


def _engine_row(table: Table, summary: Tally) -> None:
    if summary.dtype:  # a resume with nothing to do loads no engine
        table.add_row("dtype", f"{summary.dtype}: {summary.dtype_reason}")
    for backend in summary.backends():
        table.add_row(backend["kind"], _backend(backend))


def _backend(report: Mapping[str, Any]) -> str:
    """'NAME on PLACEMENT: N requests, taken out 1x, restarted 1x, M requests since'."""
    where = f" on {report['placement']}" if report["placement"] else ""
    text = f"{report['name']}{where}: {report['requests']} requests"
    if report["taken_out"]:
        text += f", taken out {report['taken_out']}x"
    if report["restarts"]:
        text += f", restarted {report['restarts']}x"
    if report["readmitted"]:
        text += f", back {report['readmitted']}x ({report['requests_since_readmitted']} requests since)"
    return text


def _tokens(summary: Tally) -> str:
    cached = f" ({summary.prefix_cache_rate:.0%} from the prefix cache)" if summary.prompt_tokens else ""
    return f"{summary.prompt_tokens} prompt{cached}, {summary.output_tokens} generated"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def write_stats(path: Path, stats: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
