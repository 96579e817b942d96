"""What every model-running command shares: its common options, the engine factory, and how it runs.

Command modules (cai.app, cai.evaluation.cli) import from here, so no command module imports another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from cai.console import RichProgress, stderr_console
from cai.guard import guarded
from cai.interrupts import graceful_interrupts
from cai.pipeline import build_engine
from cai.preflight import EngineFactory

T = TypeVar("T")
ENGINE_FACTORY: EngineFactory = build_engine  # tests swap in a fake engine here


def engine_factory() -> EngineFactory:
    """The factory in force now (looked up at call time, so a test's swap takes effect)."""
    return ENGINE_FACTORY


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
    int, typer.Option(min=1, help="With --server: requests in flight per server (match its max_num_seqs).")
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
