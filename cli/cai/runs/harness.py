"""One run of a model-running command, the skeleton every command specialises.

    lock the output → prepare (validate, tally, resume) → note the resume → manifest 'running' →
    write new rejects → load engines as the work asks → the command's work (flows, rows) →
    manifest 'complete' or 'interrupted', writers closed, engines released

A command supplies `prepare` (everything decided before any model work, as a `Prepared`), a summary to
count into, and `work`, which gets a `Context`: the sink for rows and rejects, the engine loader, and the
stage callback that feeds the summary and the progress display. Every input row ends in exactly one
place: a row of the output, an entry of the rejects file, or already there from an earlier run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cai import constitution
from cai.constitution import LoadedConstitution
from cai.engines.events import StageDone
from cai.errors import InputError
from cai.io.jsonl import JsonlWriter
from cai.io.records import Keyed, Reject, Scan
from cai.runs import lock
from cai.runs.checks import bad_rows_problem, check_output, check_paths
from cai.runs.engines import Engines, Role, resolve_role
from cai.runs.inputs import run_inputs
from cai.runs.ledger import KeyOf, OutputPaths, Resume, finished, read_resume
from cai.runs.manifest import Manifest
from cai.runs.options import ModelJob
from cai.runs.progress import Progress
from cai.runs.tally import Tally

K = TypeVar("K", bound=Keyed)
R = TypeVar("R")
P = TypeVar("P", bound="Prepared[Any]")
S = TypeVar("S", bound=Tally)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Prepared(Generic[K]):
    """A validated run: what the harness needs of everything a command decided before any model work."""

    tool: str
    paths: OutputPaths
    input_label: str
    loaded: LoadedConstitution
    model_label: str
    parameters: dict[str, Any]
    resume: Resume[K]
    todo: list[K]
    new_rejects: list[Reject]
    role: Role | None = None  # a one-model command's engine (eval has one per side)
    bad_rows: str | None = None  # a dry run's: the input has more bad rows than --max-bad-rows
    # what the manifest's `inputs` hashes (cai.runs.inputs); None: the input file and `role`
    input_files: dict[str, str] | None = None
    roles: dict[str, Role] | None = None

    def lineage_inputs(self, note: Callable[[str], None]) -> dict[str, Any]:
        """The manifest's `inputs`: every file and model this run reads, hashed."""
        files = self.input_files if self.input_files is not None else {"input": self.input_label}
        roles = self.roles if self.roles is not None else ({"model": self.role} if self.role else {})
        models = {name: (role.path, role.label) for name, role in roles.items()}
        return run_inputs(files, (self.loaded.path, self.loaded.sha256), models, note)


@dataclass(frozen=True)
class Basis(Generic[R]):
    """What a one-model command knows once its input is read, before its rows are keyed and resumed."""

    loaded: LoadedConstitution
    paths: OutputPaths
    scanned: Scan[R]
    role: Role
    bad_rows: str | None


@dataclass(frozen=True)
class Given:
    """How a one-model command is prepared: as a dry run (reads, changes no file), or by the Python API with
    rows it already read (`scanned`) and the engine it was lent (`role`)."""

    dry_run: bool = False
    scanned: Scan[Any] | None = None
    role: Role | None = None


AS_RUN = Given()
AS_DRY_RUN = Given(dry_run=True)


def read_basis(
    job: ModelJob, source: str, read: Callable[[], Scan[R]], note: Callable[[str], None], given: Given = AS_RUN
) -> Basis[R]:
    """Constitution, output paths, every input row (read by `read`, or `scanned` from the Python API), the
    engine's role: all checked before any model work. Too many bad rows stop a run (a dry run reports them)."""
    loaded = constitution.load(job.constitution)
    paths = job.paths
    scanned = given.scanned
    if scanned is None:
        check_paths(source, paths)
        scanned = read()
    bad_rows = bad_rows_problem(scanned, job.limits.max_bad_rows)
    if bad_rows is not None and not given.dry_run:
        raise InputError(bad_rows)
    return Basis(loaded, paths, scanned, given.role or resolve_role(job.model, job.engine, note), bad_rows)


def resumed(
    job: ModelJob, basis: Basis[Any], parameters: dict[str, Any], items: Sequence[K], key_of: KeyOf, given: Given
) -> Resume[K]:
    """Which of `items` this run still does: OUT checked and repaired first (a dry run only reads it)."""
    overwrite, rejects = job.output.overwrite, basis.scanned.rejects
    return read_resume(basis.paths, parameters, overwrite, items, rejects, key_of, readonly=given.dry_run)


def prepared_facts(job: ModelJob, basis: Basis[Any], parameters: dict[str, Any], resume: Resume[Any]) -> dict[str, Any]:
    """The harness's fields of a one-model command's `Prepared`, from its basis and its resume."""
    return {
        "tool": f"cai {job.command}",
        "paths": basis.paths,
        "input_label": basis.scanned.label,
        "loaded": basis.loaded,
        "model_label": basis.role.label,
        "parameters": parameters,
        "resume": resume,
        "todo": resume.todo,
        "new_rejects": resume.new_rejects,
        "role": basis.role,
        "bad_rows": basis.bad_rows,
    }


class Sink:
    """The output and rejects writers; `commit` fsyncs both, so a committed row survives a crash."""

    def __init__(self, paths: OutputPaths, summary: Tally):
        self.rows = JsonlWriter(paths.output, append=True)
        self.rejects = JsonlWriter(paths.rejects, append=paths.output is not None)
        self.summary = summary

    def row(self, row: dict[str, Any]) -> None:
        self.rows.write(row)

    def group(self, rows: list[dict[str, Any]]) -> None:
        """Rows that are one input row's output (a ranked row's pairs), written in one piece."""
        self.rows.write_many(rows)

    def reject(self, entry: Reject) -> None:
        self.rejects.write(entry.as_dict())
        self.summary.count(entry)

    def commit(self) -> None:
        self.rows.commit()
        self.rejects.commit()


@dataclass
class Context(Generic[P, S]):
    """What a command's work gets from the harness."""

    prepared: P
    summary: S
    progress: Progress
    engines: Engines
    sink: Sink

    def on_stage(self, event: StageDone) -> None:
        self.summary.add(event)
        self.progress.advance(event)


def run(
    paths: OutputPaths,
    prepare: Callable[[], P],
    summary: S,
    work: Callable[[Context[P, S]], None],
    progress: Progress,
) -> S:
    """Run a command: `summary` is filled with where every row went; the output is held by this process."""
    started = time.perf_counter()
    check_output(paths)
    with lock.holding(paths):
        prepared = prepare()
        resume = prepared.resume
        summary.rows_in, summary.already_done = resume.input_rows, resume.already_done
        summary.output, summary.rejects = str(paths.output or "<stdout>"), str(paths.rejects)
        summary.torn_lines = resume.holdings.torn_lines
        _note_resume(resume, progress)
        if prepared.todo or prepared.new_rejects or not finished(paths):  # else: no engine, not a byte changed
            _execute(prepared, summary, work, progress)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _note_resume(resume: Resume[Any], progress: Progress) -> None:
    if resume.holdings.torn_lines:
        progress.note(f"removed {resume.holdings.torn_lines} torn last line(s) left by an interrupted write")
    if resume.already_done:
        progress.note(f"resuming: {resume.already_done} of {resume.input_rows} rows are already done")


def _execute(prepared: P, summary: S, work: Callable[[Context[P, S]], None], progress: Progress) -> None:
    """Write the rows; the manifest says 'running' throughout and how the run ended at the end."""
    sink = Sink(prepared.paths, summary)
    manifest = Manifest(
        prepared.paths,
        prepared.parameters,
        prepared.loaded,
        prepared.model_label,
        prepared.input_label,
        prepared.resume.holdings,
        prepared.tool,
        prepared.lineage_inputs(progress.note) if prepared.paths.manifest is not None else None,  # stdout: none
    )
    engines = Engines(progress, summary)
    with manifest.recording(summary, sink.rows, sink.rejects):
        try:
            for entry in prepared.new_rejects:
                sink.reject(entry)
            sink.commit()
            if prepared.todo:
                work(Context(prepared, summary, progress, engines, sink))
        finally:
            engines.close()


def commit_in_order(numbered: Iterable[tuple[int, T]], write: Callable[[T], None], sink: Sink, every: int) -> None:
    """Write items numbered 0, 1, 2, … in number order as they finish (in any order), committing every `every`.

    If the run fails or is interrupted, items that finished out of order are written too before the error
    goes on, so a rerun never regenerates a row that was done.
    """
    held: dict[int, T] = {}
    following = written = 0
    try:
        for number, item in numbered:
            held[number] = item
            while following in held:
                write(held.pop(following))
                following += 1
                written += 1
                if written % every == 0:
                    sink.commit()
    finally:
        for number in sorted(held):
            write(held.pop(number))
        sink.commit()
