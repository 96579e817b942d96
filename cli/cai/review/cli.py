"""`cai review`: sample judged pairs, label them in a terminal UI, measure judge–human agreement.

Each command parses options and calls one core function; tables go to stderr, data to files (or
stdout with `--json -`). The statistics and the UI are imported inside the commands that use them,
so `cai --help` does not pay for textual, scipy or scikit-learn.

Exit codes: 0 success; 2 bad usage or bad input (nothing is written or lost); 3 a gate failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cai.console import guarded, stderr_console
from cai.errors import GateFailed, InputError

review_app = typer.Typer(
    help="Human review of judged pairs: `sample` a stratified blind sample, `label` it in a terminal UI "
    "(or `serve` it to reviewers' browsers), measure judge–human `agreement`. "
    "Exit codes: 0 success, 2 bad input, 3 a gate of `agreement` failed.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
ReviewArg = Annotated[Path, typer.Argument(help="The review file written by `cai review sample`.")]


@review_app.command()
def sample(
    source: Annotated[
        Path,
        typer.Argument(
            help="Preference pairs: `cai score` (pairwise, ranked, or --pairs rows), `cai eval`, `cai revise` (trl "
            "or hf-cai), or any TRL or hh-rlhf pair file; JSONL (- for stdin), CSV, Parquet or a dataset folder."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The review file to write (JSONL).")],
    n: Annotated[int, typer.Option("-n", min=1, help="Items to sample (all pairs when the file has fewer).")] = 200,
    seed: Annotated[int, typer.Option(help="Seeds the sample and the A/B order.")] = 0,
    split: Annotated[str | None, typer.Option(help="Dataset folder with several splits: the one to read.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing review file.")] = False,
    debug: DebugOption = False,
) -> None:
    """Draw a stratified random sample (low |margin| oversampled), blind: A/B order random, no verdict shown.

    Strata: judge margin band × position consistency × principle; each item records its stratum's size,
    its inclusion probability and weight, so `agreement` can estimate for the whole source file. A ranked
    row is reviewed as its best against its worst (the pair it trains on); pointwise rows are skipped and
    counted. Exit codes: 0 success, 2 bad input or nothing to sample.
    """

    def work() -> None:
        from cai.io.lines import label_of
        from cai.review.items import write_review
        from cai.review.rows import read_judged
        from cai.review.sampling import draw
        from cai.review.tables import sample_table

        if output.exists() and not overwrite:
            raise InputError(f"{output} exists (labels may refer to its items); pass --overwrite to draw a new sample")
        judged = read_judged(source, split)
        label = label_of(str(source))
        if not judged.pairs:
            skipped = ", ".join(f"{count} {kind}" for kind, count in sorted(judged.skipped.items())) or "no rows"
            raise InputError(f"{label}: no judged pairs to sample ({skipped}); nothing was written")
        items = draw(judged.pairs, n, seed, label)
        write_review(output, items)
        stderr_console().print(sample_table(label, len(judged.pairs), dict(judged.skipped), items, str(output)))

    guarded(work, debug)


@review_app.command()
def label(
    review: ReviewArg,
    reviewer: Annotated[str, typer.Option("--reviewer", "-r", help="Your name: it names your labels file.")],
    labels: Annotated[
        Path | None, typer.Option(help="Labels file. Default: REVIEW.labels.REVIEWER.jsonl beside the review file.")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Label the review in a keyboard-driven terminal UI: a / b / t(ie) / s(kip) / u(ndo) / n(ote) / q(uit).

    Every label is appended and fsynced the moment it is given; reopening resumes at the first
    unlabelled item. Needs a terminal: without one (a pipe, CI) it exits 2 — import labels made
    elsewhere with `cai review import`. Exit codes: 0 success, 2 bad input or no terminal.
    """

    def work() -> None:
        from cai.review.items import read_review
        from cai.review.labels import LabelStore, labels_path

        items = read_review(review)
        store = LabelStore(labels or labels_path(review, reviewer), reviewer)
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise InputError("cai review label needs a terminal (stdin and stdout are not one); nothing was labelled")
        from cai.review.tui import LabelApp

        try:
            LabelApp(items, store).run()
        finally:
            store.close()
        done = sum(1 for item in items if item.item in store.current())
        stderr_console().print(f"labelled {done} of {len(items)} items → {store.path}")

    guarded(work, debug)


@review_app.command()
def serve(
    review: ReviewArg,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but loopback needs the access token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8765,
    overlap: Annotated[
        float, typer.Option(min=0, max=1, help="Share of items that go to two reviewers (inter-reviewer agreement).")
    ] = 0.2,
    token_file: Annotated[
        Path | None, typer.Option(help="Read the access token from this file instead of generating one.")
    ] = None,
    no_token: Annotated[bool, typer.Option("--no-token", help="No access token (loopback --host only).")] = False,
    debug: DebugOption = False,
) -> None:
    """Label the review in a browser, several reviewers at once: the same labels files as `label`.

    Prints a URL with an access token; each reviewer opens it and gives a name (it names their
    labels file). Keys as in `label`. Every click is appended and fsynced before the next item shows.
    Exit codes: 0 stopped, 2 bad input (review or labels file, options, port in use), 130 Ctrl-C.
    """

    def work() -> None:
        from cai.review.web.server import ServeOptions
        from cai.review.web.server import serve as run_server

        err = stderr_console()
        options = ServeOptions(review, host, port, token_file, no_token, overlap)
        run_server(options, lambda line: err.print(line, highlight=False, soft_wrap=True, markup=False))

    guarded(work, debug)


@review_app.command("import")
def import_labels(
    review: ReviewArg,
    source: Annotated[
        Path, typer.Argument(help="Labels made elsewhere: JSONL or CSV (item, label, reviewer, note, seconds).")
    ],
    reviewer: Annotated[str, typer.Option("--reviewer", "-r", help="Reviewer for rows that do not name one.")],
    labels: Annotated[
        Path | None, typer.Option(help="Append to this labels file. Default: REVIEW.labels.REVIEWER.jsonl.")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Validate labels made elsewhere and append the good rows to a labels file; bad rows are quarantined.

    Bad rows (invalid JSON, a bad field, an item not in the review file) go to LABELS.rejects.jsonl with
    their line and reason. Exit codes: 0 (some rows may be quarantined), 2 when no row is usable.
    """

    def work() -> None:
        from cai.review.imports import read_label_file
        from cai.review.items import read_review
        from cai.review.labels import LabelStore, check_reviewer, labels_path

        items = read_review(review)
        read = read_label_file(source, {item.item for item in items}, check_reviewer(reviewer))
        target = labels or labels_path(review, reviewer)
        rejects = target.with_name(target.name.removesuffix(".jsonl") + ".rejects.jsonl")
        if read.bad:
            with rejects.open("a", encoding="utf-8") as handle:
                handle.writelines(json.dumps(bad.as_dict(), ensure_ascii=False) + "\n" for bad in read.bad)
        err = stderr_console()
        for bad in read.bad[:10]:
            err.print(f"[yellow]quarantined[/yellow] {bad}", highlight=False, soft_wrap=True)
        if not read.events:
            raise InputError(f"{source}: no usable label rows ({len(read.bad)} bad, see {rejects}); nothing imported")
        store = LabelStore(target, reviewer)
        try:
            for event in read.events:
                store.append(event)
        finally:
            store.close()
        extra = f", {len(read.bad)} quarantined → {rejects}" if read.bad else ""
        err.print(f"imported {len(read.events)} labels → {target}{extra}")

    guarded(work, debug)


@review_app.command()
def agreement(
    review: ReviewArg,
    labels: Annotated[
        list[Path] | None,
        typer.Option("--labels", "-l", help="Labels files (JSONL or CSV), repeatable. Default: REVIEW.labels.*.jsonl."),
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write every figure as JSON here (- for stdout).")
    ] = None,
    min_agreement: Annotated[
        float | None, typer.Option(min=0, max=1, help="Gate: judge–human agreement (ties excluded) at least this.")
    ] = None,
    min_reviewed: Annotated[
        int | None, typer.Option(min=0, help="Gate: at least this many items with a human A/B/tie label.")
    ] = None,
    min_kappa: Annotated[
        float | None, typer.Option(min=-1, max=1, help="Gate: Cohen's κ (judge vs human) at least this.")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Judge–human agreement with 95 % CIs, κ, the weighted whole-file estimate, calibration, breakdowns.

    Also the "always prefer the longer response" baseline and agreement between reviewers. Exit codes:
    0 success; 2 bad input; 3 (EXIT_GATE) when a --min-* gate fails, each failed gate listed.
    """

    def work() -> None:
        from cai.review.agreement import agreement_figures
        from cai.review.tables import agreement_table

        figures = agreement_figures(review, labels or [])
        err = stderr_console()
        for bad in figures["bad_labels"][:10]:
            err.print(
                f"[yellow]skipped label[/yellow] {bad['path']}:{bad['line']}: {bad['reason']}: {bad['detail']}",
                highlight=False,
                soft_wrap=True,
            )
        err.print(agreement_table(figures))
        if json_out is not None:
            text = json.dumps(figures, indent=2, ensure_ascii=False) + "\n"
            if json_out == "-":
                sys.stdout.write(text)
            else:
                Path(json_out).parent.mkdir(parents=True, exist_ok=True)
                Path(json_out).write_text(text, encoding="utf-8")
        failed = gate_failures(figures, min_agreement, min_reviewed, min_kappa)
        if failed:
            raise GateFailed("quality gates failed: " + "; ".join(failed))

    guarded(work, debug)


def gate_failures(
    figures: dict[str, object], min_agreement: float | None, min_reviewed: int | None, min_kappa: float | None
) -> list[str]:
    """Each failed gate as a sentence; an undefined figure fails its gate."""
    failed = []
    reviewed = figures["reviewed"]
    assert isinstance(reviewed, int)
    if min_reviewed is not None and reviewed < min_reviewed:
        failed.append(f"reviewed {reviewed} < --min-reviewed {min_reviewed}")
    for name, option, floor in (("agreement", "--min-agreement", min_agreement), ("kappa", "--min-kappa", min_kappa)):
        value = figures[name]
        if floor is None:
            continue
        if value is None:
            failed.append(f"{name} is undefined (no usable labels) but {option} {floor} was asked")
        elif isinstance(value, float) and value < floor:
            failed.append(f"{name} {value:.3f} < {option} {floor}")
    return failed
