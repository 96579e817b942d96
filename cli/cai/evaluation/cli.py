"""The `cai eval` command: parse options, run the core function, print the verdict table, check the gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cai.commands import (
    ConstitutionOption,
    DebugOption,
    EngineArgOption,
    MaxBadRowsOption,
    MaxRowBytesOption,
    OverwriteOption,
    QuietOption,
    RayOption,
    RejectsOption,
    ReplicaCpusOption,
    ReplicaGpusOption,
    ReplicasOption,
    ServerConcurrencyOption,
    ServerOption,
    ServersFileOption,
    engine_factory,
    run_command,
)
from cai.console import RichProgress, stderr_console, write_stats
from cai.engines.ray import RayOptions
from cai.errors import GateFailed, InputError
from cai.evaluation.plan import EvalJob, SideJob
from cai.evaluation.run import EvalSummary, run_eval
from cai.evaluation.table import eval_table
from cai.guard import guarded

_MODEL = "Local model folder or model name (with --server: the served model's name). Default: embedded SmolLM2."
_SIDE = "Side {side}: {what}. Default: the constitution's."


def evaluate(
    prompts: Annotated[str, typer.Argument(help="Prompt file: JSONL rows or plain text; - for stdin.")],
    model_a: Annotated[str | None, typer.Option("--model-a", help="Side A (the old model). " + _MODEL)] = None,
    model_b: Annotated[str | None, typer.Option("--model-b", help="Side B (the new model). " + _MODEL)] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model", "-j", help="The judge. " + _MODEL)] = None,
    answers_a: Annotated[
        str | None, typer.Option("--answers-a", help="Side A's answers from a JSONL file of {id, response} rows.")
    ] = None,
    answers_b: Annotated[str | None, typer.Option("--answers-b", help="Side B's answers, likewise.")] = None,
    max_tokens_a: Annotated[int | None, typer.Option(min=1, help=_SIDE.format(side="A", what="new tokens"))] = None,
    max_tokens_b: Annotated[int | None, typer.Option(min=1, help=_SIDE.format(side="B", what="new tokens"))] = None,
    temperature_a: Annotated[
        float | None, typer.Option(min=0.0, max=2.0, help=_SIDE.format(side="A", what="temperature"))
    ] = None,
    temperature_b: Annotated[
        float | None, typer.Option(min=0.0, max=2.0, help=_SIDE.format(side="B", what="temperature"))
    ] = None,
    top_p_a: Annotated[float | None, typer.Option(min=0.01, max=1.0, help=_SIDE.format(side="A", what="top-p"))] = None,
    top_p_b: Annotated[float | None, typer.Option(min=0.01, max=1.0, help=_SIDE.format(side="B", what="top-p"))] = None,
    seed_a: Annotated[int, typer.Option(help="Side A: seeds its generations (with the prompt).")] = 0,
    seed_b: Annotated[int, typer.Option(help="Side B: seeds its generations (with the prompt).")] = 0,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write one row per prompt here (JSONL); default or - is stdout."),
    ] = None,
    report_page: Annotated[
        Path | None, typer.Option("--report", help="Also render `cai report`'s HTML page of the output here.")
    ] = None,
    stats_json: Annotated[Path | None, typer.Option(help="Also write every figure of the eval here as JSON.")] = None,
    constitution_name: ConstitutionOption = "harmless",
    principles: Annotated[int, typer.Option(min=1, help="Comparison principles per pair (an ensemble).")] = 4,
    tie_margin: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="A pair whose |margin| is at most this is a tie.")
    ] = 0.0,
    min_win_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Gate: exit 3 when B's win rate over A (ties half) is below this."),
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Prompts in flight at once; rows flushed every N.")] = 32,
    engine_arg: EngineArgOption = None,
    server: ServerOption = None,
    servers_file: ServersFileOption = None,
    server_concurrency: ServerConcurrencyOption = 64,
    ray: RayOption = None,
    replicas: ReplicasOption = None,
    replica_cpus: ReplicaCpusOption = None,
    replica_gpus: ReplicaGpusOption = None,
    input_format: Annotated[str, typer.Option(help="auto (by extension, else by content), jsonl or text.")] = "auto",
    rejects: RejectsOption = None,
    overwrite: OverwriteOption = False,
    max_bad_rows: MaxBadRowsOption = 10,
    max_row_bytes: MaxRowBytesOption = 1_000_000,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    """Is model B better than model A? Both answer every prompt, the pairwise judge compares them.

    Each pair is judged in both orders over an ensemble of the constitution's comparison principles. The
    summary gives B's win rate over A (ties count half) with a 95 % interval, a length-controlled win
    rate, the judge's position consistency, and per-principle and per-category figures; it warns when
    the judge is one of the two models. Output rows are `cai score` pairwise rows (response_a,
    response_b, scores) plus an `eval` object: `cai review sample` and `cai report` read them.
    """
    if input_format not in ("auto", "jsonl", "text"):
        raise typer.BadParameter("must be auto, jsonl or text", param_hint="--input-format")
    if report_page is not None and output in (None, "-"):
        raise typer.BadParameter("needs -o FILE (the report reads the output file)", param_hint="--report")
    for side, model, answers in (("a", model_a, answers_a), ("b", model_b, answers_b)):
        if model is not None and answers is not None:
            raise typer.BadParameter(
                f"give --model-{side} or --answers-{side}, not both", param_hint=f"--answers-{side}"
            )
    job = EvalJob(
        prompts=prompts,
        a=SideJob(model_a, answers_a, max_tokens_a, temperature_a, top_p_a, seed_a),
        b=SideJob(model_b, answers_b, max_tokens_b, temperature_b, top_p_b, seed_b),
        judge_model=judge_model,
        output=output,
        constitution=constitution_name,
        principles=principles,
        tie_margin=tie_margin,
        chunk_size=chunk_size,
        engine_args=tuple(engine_arg or ()),
        servers=tuple(server or ()),
        servers_file=servers_file,
        server_concurrency=server_concurrency,
        ray=RayOptions(ray, replicas, replica_cpus, replica_gpus),
        input_format="jsonl" if input_format == "jsonl" else "text" if input_format == "text" else "auto",
        rejects=rejects,
        overwrite=overwrite,
        max_bad_rows=max_bad_rows,
        max_row_bytes=max_row_bytes,
    )
    results: list[EvalSummary] = []

    def work(progress: RichProgress) -> EvalSummary:
        summary = run_eval(job, progress, engine_factory())
        if stats_json is not None:
            write_stats(stats_json, {**summary.as_dict(), "figures": summary.figures})
        if report_page is not None and output is not None:
            _render(output, report_page)
        results.append(summary)
        return summary

    run_command(quiet, debug, work, eval_table)
    if report_page is not None and not quiet:
        stderr_console().print(f"page {report_page}", markup=False, soft_wrap=True)
    if min_win_rate is not None:
        guarded(lambda: _gate(results[0], min_win_rate), debug)


def _render(output: str, page: Path) -> None:
    from cai.report.run import ReportJob, run_report

    if not Path(output).exists():
        raise InputError(f"--report: {output} holds no rows to report on")
    run_report(ReportJob((output,), page))


def _gate(summary: EvalSummary, minimum: float) -> None:
    rate = summary.figures.get("win_rate")
    if rate is None:
        raise GateFailed(f"--min-win-rate {minimum:g}: no pair was judged, so B's win rate is undefined")
    if rate < minimum:
        raise GateFailed(f"--min-win-rate {minimum:g}: B's win rate over A is {rate:.4g}")
