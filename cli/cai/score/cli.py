"""The `cai score` command: parse options, run the core function (or its dry run), print the judge's figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cai.console import write_stats
from cai.runs.cli import DryRunOption, command, run_command, run_dry
from cai.runs.dryrun import DryRun
from cai.runs.options import Display
from cai.runs.progress import RichProgress
from cai.runs.tables import counts, engine_row, rate, tokens, wall_row, where_rows_went
from cai.score.dryrun import plan_score
from cai.score.run import ScoreJob, ScoreSummary, run_score

StatsOption = Annotated[
    Path | None,
    typer.Option(help="Also write the run's counts and reliability figures (with --dry-run: the plan) as JSON."),
]


@command
def score(
    job: ScoreJob,
    stats_json: StatsOption = None,
    dry_run: DryRunOption = False,
    display: Display = Display(),
) -> None:
    """AI feedback on existing rows, and how far the judge can be trusted.

    The shape of each row decides what is scored: `response` → pointwise rubric scores per principle;
    `chosen`/`rejected` or `response_a`/`response_b` → a pairwise preference read from the log-probabilities
    of the options, both orders averaged; `responses` (a list, as `cai sample` writes) → every pair compared,
    best vs worst emitted as chosen/rejected (`--pairs all|adjacent`: one row per judged pair instead).
    Rows come out unchanged plus a `scores` object. The summary reports position consistency, mean
    |margin|, parse failures and, where rows say which side is preferred, agreement.
    """
    if problem := job.judge.clamp_problem():
        raise typer.BadParameter(problem, param_hint="--clamp")
    if dry_run:
        run_dry(display, lambda progress: plan_score(job, progress), _stats_writer(stats_json))
        return

    def work(progress: RichProgress) -> ScoreSummary:
        summary = run_score(job, progress)
        if stats_json is not None:
            write_stats(stats_json, summary.as_dict())
        return summary

    run_command(display, work, score_table)


def _stats_writer(path: Path | None) -> Callable[[DryRun], None] | None:
    return None if path is None else lambda plan: write_stats(path, plan.as_dict())


def score_table(summary: ScoreSummary) -> Table:
    """The figures to read before training on the judge's labels."""
    table = where_rows_went("cai score", summary, ("rows scored", counts(summary.scored)))
    if summary.pair_rows or summary.identical_pairs:
        table.add_row("pair rows", f"{summary.pair_rows} ({summary.identical_pairs} identical pairs left out)")
    figures = summary.reliability()
    table.add_row("pair judgements", str(figures["pair_judgements"]))
    table.add_row("position-consistent", rate(figures["position_consistency_rate"]))
    mean_margin = figures["mean_abs_margin"]
    table.add_row("mean |margin|", "n/a" if mean_margin is None else f"{mean_margin:.3f}")
    table.add_row("parse failures", str(figures["parse_failures"]))
    agreement = figures["agreement_with_labels"]
    table.add_row("agrees with labels", f"{rate(agreement)} of {figures['labelled_rows']} labelled rows")
    table.add_row("tokens", tokens(summary))
    engine_row(table, summary)
    wall_row(table, summary)
    return table
