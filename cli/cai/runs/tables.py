"""The tables a run prints on stderr when it ends: where every row went, the engine, a dry run's plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from cai.runs.tally import GenerationTally, Tally


def summary_grid(title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    return table


def where_rows_went(title: str, summary: Tally, written: tuple[str, str]) -> Table:
    """The accounting every command shares: rows in = already done + written + dropped + quarantined."""
    table = summary_grid(title)
    table.add_row("rows in", str(summary.rows_in))
    if summary.already_done:
        table.add_row("already done", f"{summary.already_done} (resumed)")
    table.add_row(written[0], f"{written[1]} → {summary.output}")
    table.add_row("dropped", counts(summary.dropped))
    table.add_row("quarantined", counts(summary.quarantined))
    if summary.dropped or summary.quarantined:
        table.add_row("rejects file", summary.rejects)
    return table


def counts(by_reason: Mapping[str, int]) -> str:
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(by_reason.items()))
    return f"{sum(by_reason.values())}" + (f" ({reasons})" if reasons else "")


def tokens(summary: Tally) -> str:
    cached = f" ({summary.prefix_cache_rate:.0%} from the prefix cache)" if summary.prompt_tokens else ""
    return f"{summary.prompt_tokens} prompt{cached}, {summary.output_tokens} generated"


def generation_rows(table: Table, summary: GenerationTally) -> None:
    """The rows of a generating command's summary: tokens, cut generations, speed, engine, wall time."""
    seconds = summary.generate_seconds
    speed = summary.output_tokens / seconds if seconds else 0.0
    table.add_row("tokens", tokens(summary))
    table.add_row("cut at max_tokens", f"{summary.length_stops} generations")
    table.add_row("speed", f"{speed:.0f} generated tok/s")
    engine_row(table, summary)
    wall_row(table, summary)


def wall_row(table: Table, summary: Tally) -> None:
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s (model load {summary.load_seconds:.1f} s)")


def engine_row(table: Table, summary: Tally) -> None:
    if summary.dtype:  # a resume with nothing to do loads no engine
        table.add_row("dtype", f"{summary.dtype}: {summary.dtype_reason}")
    for backend in summary.backends():
        table.add_row(backend["kind"], _backend(backend))


def _backend(report: Mapping[str, Any]) -> str:
    """'NAME on PLACEMENT: N requests, taken out 1x, restarted 1x, M requests since'."""
    where = f" on {report['placement']}" if report["placement"] else ""
    text = f"{report['name']}{where}: {report['requests']} requests"
    if report["taken_out"]:
        text += f", taken out {report['taken_out']}x"
    if report["restarts"]:
        text += f", restarted {report['restarts']}x"
    if report["readmitted"]:
        text += f", back {report['readmitted']}x ({report['requests_since_readmitted']} requests since)"
    return text


def rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
