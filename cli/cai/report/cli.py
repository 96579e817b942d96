"""The `cai report` command: parse options, run the core function, print the headline on stderr.

Importing this module is cheap (no matplotlib, scipy, scikit-learn or Jinja2 until a report runs),
so registering it in `cai.app` keeps `cai --help` instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from cai.report.figures import Report

DATA_HELP = (
    "Preference pairs: `cai revise` (trl, hf-cai), `cai score`, `cai eval`, TRL or hh-rlhf pairs; "
    "JSONL (- for stdin), CSV, Parquet or a dataset folder."
)


def report(
    data: Annotated[list[str], typer.Argument(help=DATA_HELP)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the HTML page here (default report.html).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write every figure as JSON here.")] = None,
    flags_out: Annotated[
        str | None, typer.Option("--flags-out", help="Write one flags row per pair here (JSONL); - for stdout.")
    ] = None,
    markers: Annotated[
        Path | None, typer.Option(help="YAML with more `refusal:` / `moralising:` phrases, added to the shipped list.")
    ] = None,
    agreement: Annotated[
        Path | None, typer.Option(help="Judge–human agreement JSON written by `cai review agreement --json`.")
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option(help="A `cai review` file: judge–human agreement is computed from it and its labels files."),
    ] = None,
    labels: Annotated[
        list[Path] | None,
        typer.Option(help="With --review: labels files (default: every REVIEW.labels.*.jsonl beside it)."),
    ] = None,
    maximum: Annotated[
        list[str] | None, typer.Option("--max", help="Gate: fail (exit 3) if figure NAME is above VALUE. NAME=VALUE.")
    ] = None,
    minimum: Annotated[
        list[str] | None, typer.Option("--min", help="Gate: fail (exit 3) if figure NAME is below VALUE. NAME=VALUE.")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Dataset folder with several splits: the one to read.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No headline on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """What a dataset will teach: judge biases and reward-hacking signals, in one offline HTML page.

    Reads any preference data — `cai revise` (with or without --judge), `cai score` (ranked rows as best
    against worst, --pairs rows as the pairs they are), `cai eval`, plain TRL or hh-rlhf pairs — prints the
    headline figures on stderr and writes the page. Gates (`--max chosen_longer=0.6 --min agreement=0.7`)
    exit 3 when they fail; bad input exits 2. Every signal and figure name: docs/report.md.
    """
    from cai.console import guarded, stderr_console
    from cai.report.gates import check_gates, parse_gates
    from cai.report.run import ReportJob, run_report

    console = stderr_console(quiet)
    page = Path("report.html") if output is None else output

    def work() -> None:
        gates = parse_gates(maximum or (), minimum or ())
        result = run_report(
            ReportJob(tuple(data), page, json_out, flags_out, markers, agreement, review, tuple(labels or ()), split)
        )
        console.print(_table(result))
        console.print(f"page {page}", markup=False, soft_wrap=True)
        check_gates(gates, result.figures)

    guarded(work, debug)


def _table(result: Report) -> Table:
    from cai.report.run import headline

    table = Table(title="cai report", title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value, warned in headline(result):
        table.add_row(label, f"[yellow]{value}  ⚠[/yellow]" if warned else value)
    return table
