"""The `cai revise` command: parse options, run the core function (or its dry run), print the summary."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.table import Table

from cai.judge.pairwise import JudgeSettings
from cai.revise.dryrun import plan_revise
from cai.revise.run import ReviseJob, Summary, run_revise
from cai.runs.cli import DryRunOption, command, run_command, run_dry
from cai.runs.options import Display
from cai.runs.tables import generation_rows, where_rows_went

JudgeFlag = Annotated[
    bool, typer.Option("--judge", help="Label initial vs final of every pair with the pairwise judge (cai.judge).")
]


@command
def revise(
    job: ReviseJob,
    judged: JudgeFlag = False,
    judge: JudgeSettings = JudgeSettings(),
    dry_run: DryRunOption = False,
    display: Display = Display(),
) -> None:
    """Turn prompts into preference pairs: initial response, then critique → revision rounds.

    JSONL rows are `{"prompt": "..."}` or `{"messages": [...]}`, with optional `id` and an
    optional `response` to revise instead of generating one.

    Output rows are TRL conversational preference rows (prompt, chosen, rejected) with a `cai`
    provenance object (`--format sft` or `hf-cai` for other shapes). Rows go to stdout (or -o);
    progress and the summary go to stderr.
    """
    if job.min_margin is not None and not judged:
        raise typer.BadParameter("needs --judge", param_hint="--min-margin")
    if problem := judge.clamp_problem():
        raise typer.BadParameter(problem, param_hint="--clamp")
    job = replace(job, judge=judge if judged else None)
    if dry_run:
        run_dry(display, lambda progress: plan_revise(job, progress))
    else:
        run_command(display, lambda progress: run_revise(job, progress), summary_table)


def summary_table(summary: Summary) -> Table:
    table = where_rows_went("cai revise", summary, ("pairs out", str(summary.pairs_out)))
    if summary.pair_judgements:
        judged = summary.pair_judgements
        consistency = summary.position_consistent / judged
        mean_margin = summary.abs_margin_total / judged
        figures = f"{judged} pairs, position-consistent {consistency:.0%}, mean |margin| {mean_margin:.3f}"
        table.add_row("judge", figures)
    generation_rows(table, summary)
    return table
