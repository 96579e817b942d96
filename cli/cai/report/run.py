"""The `cai report` core function: read → measure → tally → page, JSON and flags rows.

One pass over the inputs: each row becomes a `Pair`, is folded into the tally and, with
`--flags-out`, written back as a flags row at once; nothing keeps the rows. The CLI checks the
gates after this returns, so a CI run that fails a gate still leaves the page to look at.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cai import __version__
from cai.errors import InputError
from cai.report.agreement import load_agreement, review_agreement
from cai.report.examples import Reservoirs
from cai.report.figures import Report, Tally
from cai.report.measure import Repeats, measure
from cai.report.rows import Pointwise, read_files
from cai.report.signals import load_markers


@dataclass(frozen=True)
class ReportJob:
    inputs: tuple[str, ...]
    output: Path | None  # the HTML page; None writes none
    json_out: Path | None = None
    flags_out: str | None = None  # a path, or "-" for stdout
    markers: Path | None = None
    agreement: Path | None = None
    review: Path | None = None  # a `cai review` file: its agreement is computed here, from `labels`
    labels: tuple[Path, ...] = ()
    split: str | None = None  # a dataset folder's split


def run_report(job: ReportJob) -> Report:
    """Compute the report and write what was asked for; bad input raises InputError (exit 2)."""
    if sum(path == "-" for path in job.inputs) > 1:
        raise InputError("stdin (-) can be read only once")
    for path in job.inputs:
        if path != "-" and not Path(path).exists():
            raise InputError(f"{path}: no such file or folder")
    markers = load_markers(job.markers)
    if job.agreement is not None and job.review is not None:
        raise InputError("give --agreement (a saved figures file) or --review (computed now), not both")
    agreement = load_agreement(job.agreement) if job.agreement is not None else None
    if job.review is not None:
        agreement = review_agreement(job.review, job.labels)
    tally, repeats, examples = Tally(), Repeats(), Reservoirs()
    with _flags_writer(job.flags_out) as flags:
        for item in read_files(list(job.inputs), job.split):
            if isinstance(item, Pointwise):
                tally.add_pointwise()
                continue
            pair = measure(item, markers, repeats)
            tally.add(pair)
            examples.offer(pair, item)
            if flags is not None:
                flags.write(json.dumps(pair.flags(), ensure_ascii=False) + "\n")
    report = tally.result(["<stdin>" if path == "-" else path for path in job.inputs])
    report.examples = examples.result()
    if agreement is not None:
        report.figures.update(agreement[0])
        report.reliability = agreement[1]
    if job.json_out is not None:
        _write(job.json_out, json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    if job.output is not None:
        _write(job.output, html(report))
    return report


def html(report: Report) -> str:
    from cai.report.page import render
    from cai.report.plots import all_plots

    return render(report, all_plots(report), __version__)


@contextmanager
def _flags_writer(target: str | None) -> Iterator[IO[str] | None]:
    if target is None:
        yield None
    elif target == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as handle:
                yield handle
        except BaseException:
            partial.unlink(missing_ok=True)  # bad input half way: no half-written flags file
            raise
        partial.replace(path)


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def headline(report: Report) -> list[tuple[str, str, bool]]:
    """(label, value, warned) lines for stderr: counts, then every signal defined on this data."""
    from cai.report.references import SIGNALS

    figures: dict[str, Any] = report.figures
    lines = [
        ("pairs", f"{figures['pairs']} ({figures['judged_pairs']} judged)", False),
    ]
    if figures["pointwise_rows"]:
        lines.append(("pointwise rows", str(figures["pointwise_rows"]), False))
    for signal in SIGNALS:
        if figures.get(signal.name) is not None:
            lines.append((f"{signal.name}", f"{signal.shown(figures)}  {signal.label}", signal.warned(figures)))
    return lines
