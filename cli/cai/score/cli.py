"""The `cai score` command: parse options, run the core function (or its dry run), print the judge's figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cai.console import write_stats
from cai.io.scored import Mode, PairsMode
from cai.io.sources import TableOptions
from cai.judge.pairwise import JudgeSettings
from cai.options import option
from cai.runs.cli import ConstitutionOption, DryRunOption, ModelOption, command, run_command, run_dry
from cai.runs.dryrun import DryRun
from cai.runs.options import Display, EngineOptions, OutputOptions, RowLimits
from cai.runs.progress import RichProgress
from cai.runs.tables import counts, engine_row, rate, tokens, wall_row, where_rows_went
from cai.score.run import ScoreJob, ScoreSummary, run_score


@dataclass(frozen=True)
class ScoreOptions:
    """Score's own options, besides the judge's."""

    rubric_max_tokens: int = option(96, min=16, help="Pointwise: tokens for the JSON score.")
    seed: int = option(0, help="Seeds principle sampling and reasoning (with the row's key).")
    chunk_size: int = option(32, min=1, help="Rows in flight at once; output is flushed every N.")
    mode: Mode = option("auto", help="auto (each row's shape decides), or force pointwise, pairwise or ranked.")
    pairs: PairsMode = option(
        "best-worst",
        help="A ranked row (responses) becomes: best-worst (one row, chosen = best, rejected = worst), all (one row "
        "per judged pair) or adjacent (one row per pair next to each other in the ranking); each pair row has "
        "chosen = the side the judge prefers, its soft label p_a and margin.",
    )
    stats_json: Path | None = option(
        None, help="Also write the run's counts and reliability figures (with --dry-run: the plan) as JSON."
    )


@command
def score(
    rows: Annotated[
        str,
        typer.Argument(
            help="Rows to score: JSONL, CSV, Parquet or a Hugging Face dataset folder; - for stdin (JSONL)."
        ),
    ],
    output: OutputOptions = OutputOptions(),
    constitution_name: ConstitutionOption = "harmless",
    model_name: ModelOption = None,
    judge: JudgeSettings = JudgeSettings(),
    scoring: ScoreOptions = ScoreOptions(),
    engine: EngineOptions = EngineOptions(),
    table: TableOptions = TableOptions(),
    limits: RowLimits = RowLimits(),
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
    if problem := judge.clamp_problem():
        raise typer.BadParameter(problem, param_hint="--clamp")
    stats_json = scoring.stats_json
    job = ScoreJob(
        rows=rows,
        output=output,
        constitution=constitution_name,
        model=model_name,
        engine=engine,
        limits=limits,
        judge=judge,
        rubric_max_tokens=scoring.rubric_max_tokens,
        seed=scoring.seed,
        chunk_size=scoring.chunk_size,
        mode=scoring.mode,
        split=table.split,
        pairs=scoring.pairs,
    )
    if dry_run:
        from cai.score.dryrun import plan_score

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
