"""What every model-running command shares: its common options, the engine factory, and how it runs.

Command modules (cai.app, cai.evaluation.cli) import from here, so no command module imports another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from cai.console import RichProgress, plan_table, stderr_console
from cai.dryrun import DryRun, TokenizerFactory
from cai.errors import EXIT_INPUT
from cai.guard import guarded
from cai.interrupts import graceful_interrupts
from cai.pipeline import build_engine
from cai.preflight import EngineFactory

T = TypeVar("T")
ENGINE_FACTORY: EngineFactory = build_engine  # tests swap in a fake engine here


def _load_tokenizer(model_path: str) -> Any:
    from cai.dryrun.tokens import load_tokenizer  # transformers loads only for a dry run

    return load_tokenizer(model_path)


TOKENIZER_FACTORY: TokenizerFactory = _load_tokenizer  # what --dry-run counts prompt tokens with; tests swap it


def engine_factory() -> EngineFactory:
    """The factory in force now (looked up at call time, so a test's swap takes effect)."""
    return ENGINE_FACTORY


def tokenizer_factory() -> TokenizerFactory:
    return TOKENIZER_FACTORY


ConstitutionOption = Annotated[
    str, typer.Option("--constitution", "-c", help="Built-in name (see `cai constitution list`) or a YAML file.")
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Local model folder or a model name vLLM can load (with --server: the served model's name). "
        "Default: embedded SmolLM2 (with --server: the one model the servers serve).",
    ),
]
EngineArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--engine-arg",
        "-E",
        help="Any vLLM engine argument as KEY=VALUE, repeatable (e.g. -E max_num_seqs=32 -E dtype=float32).",
    ),
]
ServerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--server",
        help="A vLLM server (http://HOST:PORT, from vllm serve or cai model serve) to run on instead of "
        "in-process; repeatable. Also: --servers-file, or the CAI_SERVERS environment variable.",
    ),
]
ServersFileOption = Annotated[
    str | None, typer.Option("--servers-file", help="A file of server URLs, one per line (# comments).")
]
ServerConcurrencyOption = Annotated[
    int,
    typer.Option(
        min=1, help="With --server: requests in flight per server (match its max_num_seqs); with --ray, per replica."
    ),
]
RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="Run the engines as replicas on a Ray cluster, which places them and restarts one whose node dies: "
        "HOST:PORT of a running cluster, auto (one running on this machine) or local (start one for this run). "
        "Also: CAI_RAY_ADDRESS. Needs pip install 'cai[ray]'. docs/scale.md.",
    ),
]
ReplicasOption = Annotated[int | None, typer.Option("--replicas", min=1, help="With --ray: engines to run. Default 1.")]
ReplicaCpusOption = Annotated[
    float | None,
    typer.Option("--replica-cpus", min=0.0, help="With --ray: CPUs each replica reserves. Default 1."),
]
ReplicaGpusOption = Annotated[
    float | None,
    typer.Option("--replica-gpus", min=0.0, help="With --ray: GPUs each replica reserves. Default 0."),
]
RejectsOption = Annotated[
    str | None, typer.Option(help="Quarantine file for rows that give no output. Default: OUT.rejects.jsonl.")
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Start OUT afresh instead of resuming it.")]
MaxBadRowsOption = Annotated[
    int, typer.Option(min=0, help="More bad input rows than this stops the run (exit 2) before any model work.")
]
MaxRowBytesOption = Annotated[int, typer.Option(min=1, help="Input rows longer than this are quarantined.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
InputFormatOption = Annotated[
    str,
    typer.Option(
        help="auto (by folder, extension, else content), jsonl, text, hh (hh-rlhf transcripts), csv, parquet "
        "or hf (a dataset folder)."
    ),
]
PromptColumnOption = Annotated[
    str | None, typer.Option(help="CSV/Parquet/dataset: the prompt column (text or chat turns). Default: prompt.")
]
IdColumnOption = Annotated[
    str | None, typer.Option(help="CSV/Parquet/dataset: the id column. Default: id, if there is one.")
]
SplitOption = Annotated[str | None, typer.Option(help="Dataset folder with several splits: the one to read.")]
HHResponseOption = Annotated[
    str,
    typer.Option(
        help="hh-rlhf rows: drop the final Assistant turn (the model answers afresh), or revise the chosen "
        "or rejected transcript's final turn."
    ),
]
OutputFormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        help="Row shape: trl (prompt/chosen/rejected, for DPO), sft (messages ending in the final revision, "
        "for SFT) or hf-cai (Hugging Face's CAI dataset columns). docs/formats.md.",
    ),
]
ModeOption = Annotated[
    str, typer.Option(help="auto (each row's shape decides), or force pointwise, pairwise or ranked.")
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Check everything and print the plan (rows, resume, requests and prompt tokens per pass) without "
        "loading the model (its tokenizer only) or writing a file. Exit 2 if the input has too many bad rows.",
    ),
]


def run_command(quiet: bool, debug: bool, work: Callable[[RichProgress], T], table: Callable[[T], Table]) -> None:
    """Run a command's core function with progress on stderr and clean interrupts; print its summary."""
    console = stderr_console(quiet)
    progress = RichProgress(console)
    try:
        with graceful_interrupts():
            result = guarded(lambda: work(progress), debug)
    finally:
        progress.stop()
    console.print(table(result))


def run_dry(
    quiet: bool, debug: bool, work: Callable[[RichProgress], DryRun], after: Callable[[DryRun], None] | None = None
) -> DryRun:
    """A dry run: its plan on stderr (then `after`); too many bad rows print after it and exit 2, as the run would."""
    plans: list[DryRun] = []

    def keep(progress: RichProgress) -> DryRun:
        plans.append(work(progress))
        return plans[0]

    run_command(quiet, debug, keep, plan_table)
    if after is not None:
        after(plans[0])
    if plans[0].bad_rows is not None:
        message = f"[bold red]error:[/bold red] {escape(plans[0].bad_rows)}"
        stderr_console().print(message, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT)
    return plans[0]


def choice(value: str, allowed: tuple[str, ...], flag: str) -> str:
    """An option limited to `allowed` (kept a plain string so the help shows the values in its text)."""
    if value not in allowed:
        raise typer.BadParameter(f"must be one of {', '.join(allowed)}", param_hint=flag)
    return value
