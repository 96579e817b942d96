"""The `cai export` command: parse options, run the core function, print a summary on stderr.

Importing this module is cheap (pyarrow and datasets load only when an export runs), so registering
it in `cai.app` keeps `cai --help` instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from cai.export.run import Advance, ExportJob, ExportResult
    from cai.export.schema import Provenance


def export(
    source: Annotated[Path, typer.Argument(metavar="PAIRS.jsonl", help="A cai revise output (JSONL, any --format).")],
    target: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to write (created; see --force).")],
    to: Annotated[
        str, typer.Option("--to", help="parquet (SPLIT.parquet files) or hf-dataset (a datasets save_to_disk folder).")
    ] = "parquet",
    test_size: Annotated[
        float | None,
        typer.Option(help="Also write a test split: a fraction of the rows (0.1) or a row count (50). Default: none."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds which prompts go to the test split.")] = 0,
    drop_provenance: Annotated[bool, typer.Option("--drop-provenance", help="Leave out the `cai` column.")] = False,
    provenance_json: Annotated[
        bool, typer.Option("--provenance-json", help="Write `cai` as a JSON string column, not a nested struct.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace TARGET if it holds an earlier cai export.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Convert a finished `cai revise` output into Parquet files or a `datasets` folder, with splits.

    Every row is checked first: a line that is not a row of the file's format stops the export (exit 2)
    and is named; nothing is skipped. `--test-size` splits by prompt, so no prompt is in both splits;
    the same file and `--seed` give the same split. Details: docs/formats.md.
    """
    from cai.console import guarded, stderr_console
    from cai.export.run import ExportJob

    if to not in ("parquet", "hf-dataset"):
        raise typer.BadParameter("must be parquet or hf-dataset", param_hint="--to")
    if drop_provenance and provenance_json:
        raise typer.BadParameter("pass at most one of --drop-provenance and --provenance-json")
    provenance: Provenance = "drop" if drop_provenance else "json" if provenance_json else "struct"
    job = ExportJob(source, target, "parquet" if to == "parquet" else "hf-dataset", test_size, seed, provenance, force)
    console = stderr_console(quiet)
    result = guarded(lambda: _run(job, console), debug)
    _summary(console, result)


def _run(job: ExportJob, console: Console) -> ExportResult:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from cai.export.run import run_export

    columns = (TextColumn("reading rows"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    bars = Progress(*columns, console=console, transient=True)

    def begin(total: int) -> Advance:
        task = bars.add_task("read", total=total)
        return lambda size: bars.advance(task, size)

    with bars:
        return run_export(job, begin, lambda message: console.print(f"[dim]cai:[/dim] {message}"))


def _summary(console: Console, result: ExportResult) -> None:
    from rich.table import Table

    table = Table(title="cai export", title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_row("format", result.shape)
    table.add_row("rows", str(result.rows))
    table.add_row("splits", ", ".join(f"{name} {count}" for name, count in result.splits.items()))
    table.add_row("columns", ", ".join(result.columns))
    table.add_row("files", "\n".join(str(path) for path in result.files))
    console.print(table)
