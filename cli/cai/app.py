"""The command line: parse options, call one core function, turn errors into messages and exit codes.

stdout carries only data (rows, or what a command was asked to show); everything else goes to
stderr. Heavy modules (vLLM, torch, transformers) are never imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer

from cai import __version__
from cai.admin import constitution_app, model_app
from cai.commands import (
    ConstitutionOption,
    DebugOption,
    DryRunOption,
    EngineArgOption,
    HHResponseOption,
    IdColumnOption,
    InputFormatOption,
    MaxBadRowsOption,
    MaxRowBytesOption,
    ModelOption,
    ModeOption,
    OutputFormatOption,
    OverwriteOption,
    PromptColumnOption,
    QuietOption,
    RayOption,
    RejectsOption,
    ReplicaCpusOption,
    ReplicaGpusOption,
    ReplicasOption,
    ServerConcurrencyOption,
    ServerOption,
    ServersFileOption,
    SplitOption,
    choice,
    engine_factory,
    run_command,
    run_dry,
    tokenizer_factory,
)
from cai.console import RichProgress, score_table, summary_table, write_stats
from cai.dryrun import DryRun
from cai.engines.ray import RayOptions
from cai.evaluation.cli import evaluate
from cai.export.cli import export
from cai.formats import OUTPUT_FORMATS, OutputFormat
from cai.judge import JudgeSettings
from cai.pipeline import ReviseJob, run_revise
from cai.report.cli import report
from cai.review.cli import review_app
from cai.score_rows import MODES, Mode
from cai.scoring import ScoreJob, ScoreSummary, run_score
from cai.sources import SOURCE_FORMATS, SourceFormat
from cai.sources.hh import HHResponse

app = typer.Typer(
    help="Constitutional AI preference data from a local vLLM model: critique → revise → score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.add_typer(constitution_app, name="constitution")
app.add_typer(model_app, name="model")
app.command("report")(report)
app.command("export")(export)
app.command("eval")(evaluate)
app.add_typer(review_app, name="review")


def _version(value: bool) -> None:
    if value:
        print(f"cai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input, 3 a quality gate failed, 130 interrupted."""


@app.command()
def revise(
    prompts: Annotated[
        str,
        typer.Argument(
            help="Prompts: JSONL rows, hh-rlhf transcripts (JSONL), plain text (one prompt per line), CSV, Parquet, "
            "or a Hugging Face dataset folder (save_to_disk); - for stdin."
        ),
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write pairs here (JSONL); default or - is stdout.")
    ] = None,
    constitution_name: ConstitutionOption = "harmless",
    model_name: ModelOption = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, max=16, help="Critique → revision rounds. Default: the constitution's.")
    ] = None,
    critique: Annotated[
        bool, typer.Option("--critique/--no-critique", help="--no-critique revises directly, without critiques.")
    ] = True,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="New tokens per generation.")] = None,
    temperature: Annotated[float | None, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = None,
    top_p: Annotated[float | None, typer.Option(min=0.01, max=1.0, help="Nucleus sampling mass.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds principle sampling and generation (with the row's key).")] = 0,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Records in flight on the engine at once; output is flushed every N rows.")
    ] = 64,
    engine_arg: EngineArgOption = None,
    server: ServerOption = None,
    servers_file: ServersFileOption = None,
    server_concurrency: ServerConcurrencyOption = 64,
    ray: RayOption = None,
    replicas: ReplicasOption = None,
    replica_cpus: ReplicaCpusOption = None,
    replica_gpus: ReplicaGpusOption = None,
    input_format: InputFormatOption = "auto",
    prompt_column: PromptColumnOption = None,
    id_column: IdColumnOption = None,
    split: SplitOption = None,
    hh_response: HHResponseOption = "drop",
    output_format: OutputFormatOption = "trl",
    rejects: RejectsOption = None,
    overwrite: OverwriteOption = False,
    max_bad_rows: MaxBadRowsOption = 10,
    max_row_bytes: MaxRowBytesOption = 1_000_000,
    judge: Annotated[
        bool, typer.Option("--judge", help="Label initial vs final of every pair with the pairwise judge (cai.judge).")
    ] = False,
    min_margin: Annotated[
        float | None,
        typer.Option(
            min=-1.0, max=1.0, help="With --judge: drop pairs whose margin P(final) − P(initial) is below this."
        ),
    ] = None,
    principles: Annotated[int, typer.Option(min=1, help="With --judge: comparison principles per pair.")] = 4,
    dry_run: DryRunOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Turn prompts into preference pairs: initial response, then critique → revision rounds.

    JSONL rows are `{"prompt": "..."}` or `{"messages": [...]}`, with optional `id` and an
    optional `response` to revise instead of generating one.

    Output rows are TRL conversational preference rows (prompt, chosen, rejected) with a `cai`
    provenance object (`--format sft` or `hf-cai` for other shapes). Rows go to stdout (or -o);
    progress and the summary go to stderr.
    """
    source_format = choice(input_format, SOURCE_FORMATS, "--input-format")
    response = choice(hh_response, ("drop", "chosen", "rejected"), "--hh-response")
    row_format = choice(output_format, OUTPUT_FORMATS, "--format")
    job = ReviseJob(
        prompts=prompts,
        output=output,
        constitution=constitution_name,
        model=model_name,
        rounds=rounds,
        critique=critique,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        chunk_size=chunk_size,
        engine_args=tuple(engine_arg or ()),
        servers=tuple(server or ()),
        servers_file=servers_file,
        server_concurrency=server_concurrency,
        ray=RayOptions(ray, replicas, replica_cpus, replica_gpus),
        input_format=cast(SourceFormat, source_format),
        prompt_column=prompt_column,
        id_column=id_column,
        split=split,
        hh_response=cast(HHResponse, response),
        rejects=rejects,
        overwrite=overwrite,
        max_bad_rows=max_bad_rows,
        max_row_bytes=max_row_bytes,
        judge=JudgeSettings(principles=principles) if judge else None,
        min_margin=min_margin,
        output_format=cast(OutputFormat, row_format),
    )
    if min_margin is not None and not judge:
        raise typer.BadParameter("needs --judge", param_hint="--min-margin")
    if dry_run:
        from cai.dryrun.revise import plan_revise

        run_dry(quiet, debug, lambda progress: plan_revise(job, progress, tokenizer_factory(), engine_factory()))
        return
    run_command(quiet, debug, lambda progress: run_revise(job, progress, engine_factory()), summary_table)


@app.command()
def score(
    rows: Annotated[
        str,
        typer.Argument(
            help="Rows to score: JSONL, CSV, Parquet or a Hugging Face dataset folder; - for stdin (JSONL)."
        ),
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write scored rows here (JSONL); default or - is stdout.")
    ] = None,
    constitution_name: ConstitutionOption = "harmless",
    model_name: ModelOption = None,
    principles: Annotated[
        int, typer.Option(min=1, help="Principles sampled per row (an ensemble: their labels are averaged).")
    ] = 4,
    cot: Annotated[
        bool, typer.Option("--cot", help="Pairwise: reason first, then read the option probability (clamped).")
    ] = False,
    clamp: Annotated[tuple[float, float], typer.Option(help="With --cot: clamp each probability to [LO, HI].")] = (
        0.4,
        0.6,
    ),
    cot_max_tokens: Annotated[int, typer.Option(min=1, help="With --cot: tokens of reasoning.")] = 128,
    rubric_max_tokens: Annotated[int, typer.Option(min=16, help="Pointwise: tokens for the JSON score.")] = 96,
    seed: Annotated[int, typer.Option(help="Seeds principle sampling and reasoning (with the row's key).")] = 0,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per batch; output is flushed after each.")] = 32,
    engine_arg: EngineArgOption = None,
    server: ServerOption = None,
    servers_file: ServersFileOption = None,
    server_concurrency: ServerConcurrencyOption = 64,
    ray: RayOption = None,
    replicas: ReplicasOption = None,
    replica_cpus: ReplicaCpusOption = None,
    replica_gpus: ReplicaGpusOption = None,
    mode: ModeOption = "auto",
    split: SplitOption = None,
    stats_json: Annotated[
        Path | None,
        typer.Option(help="Also write the run's counts and reliability figures (with --dry-run: the plan) as JSON."),
    ] = None,
    rejects: RejectsOption = None,
    overwrite: OverwriteOption = False,
    max_bad_rows: MaxBadRowsOption = 10,
    max_row_bytes: MaxRowBytesOption = 1_000_000,
    dry_run: DryRunOption = False,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """AI feedback on existing rows, and how far the judge can be trusted.

    The shape of each row decides what is scored: `response` → pointwise rubric scores per principle;
    `chosen`/`rejected` or `response_a`/`response_b` → a pairwise preference read from the log-probabilities
    of the options, both orders averaged; `responses` (a list) → every pair compared, best vs worst emitted as
    chosen/rejected. Rows come out unchanged plus a `scores` object. The summary reports position
    consistency, mean |margin|, parse failures and, where rows say which side is preferred, agreement.
    """
    low, high = clamp
    if not 0 <= low <= 0.5 <= high <= 1:
        raise typer.BadParameter("expected 0 <= LO <= 0.5 <= HI <= 1", param_hint="--clamp")
    job = ScoreJob(
        rows=rows,
        output=output,
        constitution=constitution_name,
        model=model_name,
        principles=principles,
        cot=cot,
        clamp=(low, high),
        cot_max_tokens=cot_max_tokens,
        rubric_max_tokens=rubric_max_tokens,
        seed=seed,
        chunk_size=chunk_size,
        engine_args=tuple(engine_arg or ()),
        servers=tuple(server or ()),
        servers_file=servers_file,
        server_concurrency=server_concurrency,
        ray=RayOptions(ray, replicas, replica_cpus, replica_gpus),
        rejects=rejects,
        overwrite=overwrite,
        max_bad_rows=max_bad_rows,
        max_row_bytes=max_row_bytes,
        mode=cast(Mode, choice(mode, MODES, "--mode")),
        split=split,
    )
    if dry_run:
        from cai.dryrun.score import plan_score

        def plan_work(progress: RichProgress) -> DryRun:
            return plan_score(job, progress, tokenizer_factory(), engine_factory())

        run_dry(
            quiet,
            debug,
            plan_work,
            None if stats_json is None else lambda plan: write_stats(stats_json, plan.as_dict()),
        )
        return

    def work(progress: RichProgress) -> ScoreSummary:
        summary = run_score(job, progress, engine_factory())
        if stats_json is not None:
            write_stats(stats_json, summary.as_dict())
        return summary

    run_command(quiet, debug, work, score_table)


def main() -> None:
    app()
