"""The `cai sample` command: parse options, run the core function (or its dry run), print the summary."""

from __future__ import annotations

from rich.table import Table

from cai.runs.cli import DryRunOption, command, run_command, run_dry
from cai.runs.options import Display
from cai.runs.tables import generation_rows, where_rows_went
from cai.sample.dryrun import plan_sample
from cai.sample.run import SampleJob, SampleSummary, run_sample


@command
def sample(job: SampleJob, dry_run: DryRunOption = False, display: Display = Display()) -> None:
    """Sample N candidate responses per prompt: the start of RL from AI feedback.

    Each output row holds the conversation as `prompt` (chat turns), the candidates as `responses` and a
    `cai` provenance object (key, model, sampling, seeds, finish reasons, identical candidates), so
    `cai score` reads it as a ranked row: `cai sample prompts.jsonl -n 4 | cai score - --pairs best-worst`.
    Rows go to stdout (or -o); progress and the summary go to stderr.
    """
    if dry_run:
        run_dry(display, lambda progress: plan_sample(job, progress))
    else:
        run_command(display, lambda progress: run_sample(job, progress), summary_table)


def summary_table(summary: SampleSummary) -> Table:
    table = where_rows_went("cai sample", summary, ("rows out", str(summary.rows_written)))
    table.add_row("candidates", f"{summary.candidates} ({summary.rows_with_identical} rows with identical ones)")
    generation_rows(table, summary)
    return table
