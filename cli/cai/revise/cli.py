"""The `cai revise` command: parse options, run the core function (or its dry run), print the summary."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.table import Table

from cai.io.revised import OutputFormat
from cai.io.sources import SourceOptions
from cai.judge.pairwise import JudgeSettings
from cai.options import option
from cai.revise.run import ReviseJob, Summary, run_revise
from cai.runs.cli import ConstitutionOption, DryRunOption, ModelOption, PromptsArgument, command, run_command, run_dry
from cai.runs.options import Display, EngineOptions, OutputOptions, RowLimits, SamplingOptions
from cai.runs.tables import generation_rows, where_rows_went


@dataclass(frozen=True)
class RoundOptions:
    """How each record is revised and written (revise's own options)."""

    rounds: int | None = option(None, min=1, max=16, help="Critique → revision rounds. Default: the constitution's.")
    critique: bool = option(True, "--critique/--no-critique", help="--no-critique revises directly, without critiques.")
    chunk_size: int = option(64, min=1, help="Records in flight on the engine at once; output is flushed every N rows.")
    output_format: OutputFormat = option(
        "trl",
        "--format",
        help="Row shape: trl (prompt/chosen/rejected, for DPO), sft (messages ending in the final revision, "
        "for SFT) or hf-cai (Hugging Face's CAI dataset columns). docs/formats.md.",
    )


@dataclass(frozen=True)
class JudgeOptions:
    """`--judge`: the verdict on every pair, and a filter on it."""

    judge: bool = option(
        False, "--judge", help="Label initial vs final of every pair with the pairwise judge (cai.judge)."
    )
    min_margin: float | None = option(
        None, min=-1.0, max=1.0, help="With --judge: drop pairs whose margin P(final) − P(initial) is below this."
    )


@command
def revise(
    prompts: PromptsArgument,
    output: OutputOptions = OutputOptions(),
    constitution_name: ConstitutionOption = "harmless",
    model_name: ModelOption = None,
    rounds: RoundOptions = RoundOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    engine: EngineOptions = EngineOptions(),
    source: SourceOptions = SourceOptions(),
    limits: RowLimits = RowLimits(),
    judging: JudgeOptions = JudgeOptions(),
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
    if judging.min_margin is not None and not judging.judge:
        raise typer.BadParameter("needs --judge", param_hint="--min-margin")
    if problem := judge.clamp_problem():
        raise typer.BadParameter(problem, param_hint="--clamp")
    job = ReviseJob(
        prompts=prompts,
        output=output,
        constitution=constitution_name,
        model=model_name,
        engine=engine,
        source=source,
        limits=limits,
        sampling=sampling,
        rounds=rounds.rounds,
        critique=rounds.critique,
        chunk_size=rounds.chunk_size,
        judge=judge if judging.judge else None,
        min_margin=judging.min_margin,
        output_format=rounds.output_format,
    )
    if dry_run:
        from cai.revise.dryrun import plan_revise

        run_dry(display, lambda progress: plan_revise(job, progress))
        return
    run_command(display, lambda progress: run_revise(job, progress), summary_table)


def summary_table(summary: Summary) -> Table:
    table = where_rows_went("cai revise", summary, ("pairs out", str(summary.pairs_out)))
    if summary.pair_judgements:
        judged = summary.pair_judgements
        consistency = summary.position_consistent / judged
        mean_margin = summary.abs_margin_total / judged
        figures = f"{judged} pairs, position-consistent {consistency:.0%}, mean |margin| {mean_margin:.3f}"
        table.add_row("judge", figures)
    generation_rows(table, summary, summary.generate_seconds)
    return table
