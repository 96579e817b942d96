"""The `cai` command: registers every command, nothing else (each lives with its concern).

stdout carries only data (rows, or what a command was asked to show); everything else goes to
stderr. Heavy modules (vLLM, torch, transformers) are never imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from cai import __version__
from cai.admin import constitution_app, model_app
from cai.evaluation.cli import evaluate
from cai.export.cli import export
from cai.lineage.cli import lineage_app
from cai.report.cli import report
from cai.review.cli import review_app
from cai.revise.cli import revise
from cai.sample.cli import sample
from cai.score.cli import score

app = typer.Typer(
    help="Constitutional AI preference data from a local vLLM model: critique → revise, sample → score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
COMMANDS: dict[str, Callable[..., None]] = {
    "revise": revise,
    "sample": sample,
    "score": score,
    "eval": evaluate,
    "report": report,
    "export": export,
}
GROUPS = {"review": review_app, "lineage": lineage_app, "constitution": constitution_app, "model": model_app}
for name, function in COMMANDS.items():
    app.command(name)(function)
for name, group in GROUPS.items():
    app.add_typer(group, name=name)


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


def main() -> None:
    app()
