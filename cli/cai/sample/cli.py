"""The `cai sample` command: parse options, run the core function (or its dry run), print the summary."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from cai.io.scored import MAX_RANKED
from cai.io.sources import SourceOptions
from cai.options import option
from cai.runs.cli import ConstitutionOption, DryRunOption, ModelOption, PromptsArgument, command, run_command, run_dry
from cai.runs.options import Display, EngineOptions, OutputOptions, RowLimits, SamplingOptions
from cai.runs.tables import generation_rows, where_rows_went
from cai.sample.run import Framing, SampleJob, SampleSummary, run_sample


@dataclass(frozen=True)
class CandidateOptions:
    """How many candidates each prompt gets, and what they are sampled under (sample's own options)."""

    n: int = option(
        4, "-n", "--candidates", min=2, max=MAX_RANKED, help="Candidates per prompt (what cai score ranks)."
    )
    framing: Framing = option(
        "none",
        help="none (the conversation as given, as the paper samples), or constitution: a system turn built from "
        "the constitution's description and comparison questions (docs/sample.md). Rows keep the plain prompt.",
    )
    chunk_size: int = option(64, min=1, help="Prompts in flight on the engine at once; output is flushed every N rows.")


@command
def sample(
    prompts: PromptsArgument,
    output: OutputOptions = OutputOptions(),
    constitution_name: ConstitutionOption = "harmless",
    model_name: ModelOption = None,
    candidates: CandidateOptions = CandidateOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    engine: EngineOptions = EngineOptions(),
    source: SourceOptions = SourceOptions(),
    limits: RowLimits = RowLimits(),
    dry_run: DryRunOption = False,
    display: Display = Display(),
) -> None:
    """Sample N candidate responses per prompt: the start of RL from AI feedback.

    Each output row holds the conversation as `prompt` (chat turns), the candidates as `responses` and a
    `cai` provenance object (key, model, sampling, seeds, finish reasons, identical candidates), so
    `cai score` reads it as a ranked row: `cai sample prompts.jsonl -n 4 | cai score - --pairs best-worst`.
    Rows go to stdout (or -o); progress and the summary go to stderr.
    """
    job = SampleJob(
        prompts=prompts,
        output=output,
        constitution=constitution_name,
        model=model_name,
        engine=engine,
        source=source,
        limits=limits,
        sampling=sampling,
        n=candidates.n,
        framing=candidates.framing,
        chunk_size=candidates.chunk_size,
    )
    if dry_run:
        from cai.sample.dryrun import plan_sample

        run_dry(display, lambda progress: plan_sample(job, progress))
        return
    run_command(display, lambda progress: run_sample(job, progress), summary_table)


def summary_table(summary: SampleSummary) -> Table:
    table = where_rows_went("cai sample", summary, ("rows out", str(summary.rows_written)))
    table.add_row("candidates", f"{summary.candidates} ({summary.rows_with_identical} rows with identical ones)")
    generation_rows(table, summary, summary.generate_seconds)
    return table
