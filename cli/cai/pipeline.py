"""`cai revise` as one core function: validate everything, load one engine, stream chunks through.

Everything that can be wrong with the input is found before the model loads. Every input row
ends up in exactly one place: the output (a pair), the rejects file (quarantined or dropped, with
its reason), or it was already there from an earlier run of the same command (resume). Nothing
here prints: progress and notes go through the `Progress` callbacks the CLI layer supplies.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cai import constitution
from cai.engine import Engine, VLLMEngine, parse_engine_args
from cai.events import StageDone
from cai.judge import JudgeSettings, PairTask, PairwiseJudge
from cai.ledger import Holdings, OutputPaths, prepare_resume, read_manifest
from cai.manifest import Manifest
from cai.output import JsonlWriter, Provenance, as_reject, preference_row
from cai.preflight import check_bad_rows, check_paths, resolve_model
from cai.records import (
    MAX_ROW_BYTES,
    InputFormat,
    Record,
    Reject,
    fingerprint,
    record_key,
    scan,
    split_duplicates,
    truncate,
)
from cai.revise import ReviseRunner, ReviseSettings, Revision

PROMPT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ReviseJob:
    """Everything `cai revise` was asked to do; None means 'the constitution's default'."""

    prompts: str
    output: str | None = None
    constitution: str = "harmless"
    model: str | None = None
    rounds: int | None = None
    critique: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    chunk_size: int = 64
    engine_args: tuple[str, ...] = ()
    input_format: InputFormat = "auto"
    rejects: str | None = None
    overwrite: bool = False
    max_bad_rows: int = 10
    max_row_bytes: int = MAX_ROW_BYTES
    judge: JudgeSettings | None = None  # --judge: label initial vs final of every pair
    min_margin: float | None = None  # --min-margin: drop pairs the judge does not clearly prefer


@dataclass
class Summary:
    """What happened to every input row; rows_in always equals the sum of the other row counts."""

    rows_in: int = 0
    already_done: int = 0
    pairs_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    output_tokens: int = 0
    length_stops: int = 0
    torn_lines: int = 0
    pair_judgements: int = 0
    position_consistent: int = 0
    abs_margin_total: float = 0.0
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: str = "<stdout>"
    rejects: str = ""

    def add(self, event: StageDone) -> None:
        self.prompt_tokens += event.prompt_tokens
        self.output_tokens += event.output_tokens
        self.length_stops += event.length_stops

    @property
    def rows_out(self) -> int:
        return self.pairs_out

    @property
    def rejected(self) -> int:
        return sum(self.dropped.values()) + sum(self.quarantined.values())

    def count(self, entry: Reject) -> None:
        (self.dropped if entry.kind == "dropped" else self.quarantined)[entry.reason] += 1

    def as_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs and so miscounts it
        return {name: dict(value) if isinstance(value, Counter) else value for name, value in vars(self).items()}


class Progress(Protocol):
    def note(self, message: str) -> None: ...

    def begin(self, plan: Mapping[str, int]) -> None:
        """Stage name → number of records the stage will process in the whole run."""

    def advance(self, event: StageDone) -> None: ...


EngineFactory = Callable[[str, Mapping[str, str], str], Engine]


def build_engine(model_path: str, engine_args: Mapping[str, str], label: str) -> Engine:
    return VLLMEngine(model_path, engine_args, model_name=label)


@dataclass(frozen=True)
class Prepared:
    """A validated run: everything decided before the model loads."""

    job: ReviseJob
    loaded: constitution.LoadedConstitution
    settings: ReviseSettings
    engine_args: Mapping[str, str]
    paths: OutputPaths
    input_label: str
    input_rows: int
    model_path: str
    model_label: str
    parameters: dict[str, Any]
    holdings: Holdings
    todo: list[Record]
    new_rejects: list[Reject]


def run_revise(job: ReviseJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> Summary:
    started = time.perf_counter()
    run = prepare(job, progress)
    summary = Summary(
        rows_in=run.input_rows,
        already_done=run.input_rows - len(run.todo) - len(run.new_rejects),
        torn_lines=run.holdings.torn_lines,
        output=str(run.paths.output or "<stdout>"),
        rejects=str(run.paths.rejects),
    )
    if run.holdings.torn_lines:
        progress.note(f"removed {run.holdings.torn_lines} torn last line(s) left by an interrupted write")
    if summary.already_done:
        progress.note(f"resuming: {summary.already_done} of {summary.rows_in} rows are already done")
    if run.paths.manifest and not run.todo and not run.new_rejects and _complete(run.paths.manifest):
        summary.wall_seconds = time.perf_counter() - started
        return summary  # nothing to do: no engine, no write, files stay byte-identical
    execute(run, progress, engine_factory, summary, started)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def prepare(job: ReviseJob, progress: Progress) -> Prepared:
    """Validate options, constitution and every input row; find what an earlier run already did."""
    loaded = constitution.load(job.constitution)
    settings = _settings(job, loaded.constitution.defaults)
    engine_args = parse_engine_args(job.engine_args)
    paths = OutputPaths.for_output(job.output, job.rejects)
    check_paths(job.prompts, paths)
    scanned = scan(job.prompts, job.input_format, job.max_row_bytes)
    check_bad_rows(scanned, job.max_bad_rows)
    model_path, model_label = resolve_model(job.model, progress.note)
    parameters = _parameters(loaded, model_label, settings, job.judge, job.min_margin)
    holdings = prepare_resume(paths, parameters, job.overwrite) if paths.output else Holdings.empty()
    run_key = fingerprint(parameters)
    records, duplicates = split_duplicates([Record(line, row, record_key(row, run_key)) for line, row in scanned.rows])
    return Prepared(
        job=job,
        loaded=loaded,
        settings=settings,
        engine_args=engine_args,
        paths=paths,
        input_label=scanned.label,
        input_rows=scanned.lines,
        model_path=model_path,
        model_label=model_label,
        parameters=parameters,
        holdings=holdings,
        todo=[record for record in records if record.key not in holdings.done],
        new_rejects=[entry for entry in [*scanned.rejects, *duplicates] if entry.key not in holdings.done],
    )


def execute(run: Prepared, progress: Progress, engine_factory: EngineFactory, summary: Summary, started: float) -> None:
    """Write the rows; the manifest says 'running' throughout and how the run ended at the end."""
    pairs = JsonlWriter(run.paths.output, append=True)
    rejects = JsonlWriter(run.paths.rejects, append=run.paths.output is not None)
    manifest = Manifest(run.paths, run.parameters, run.loaded, run.model_label, run.input_label, run.holdings)
    try:
        for entry in run.new_rejects:
            rejects.write(entry.as_dict())
            summary.count(entry)
        rejects.commit()
        manifest.write("running", summary)
        if run.todo:
            progress.note(f"loading {run.model_label}")
            engine = engine_factory(run.model_path, run.engine_args, run.model_label)
            summary.load_seconds = time.perf_counter() - started
            try:
                _generate(run, engine, progress, summary, pairs, rejects)
            finally:
                engine.close()
    except BaseException:
        pairs.close()
        rejects.close()
        manifest.write("interrupted", summary)
        raise
    pairs.close()
    rejects.close()
    manifest.write("complete", summary)


def _generate(
    run: Prepared, engine: Engine, progress: Progress, summary: Summary, pairs: JsonlWriter, rejects: JsonlWriter
) -> None:
    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    progress.begin(_plan(run.todo, run.settings))
    runner = ReviseRunner(run.loaded.constitution, run.settings, engine, on_stage)
    judge = PairwiseJudge(run.loaded.constitution, run.job.judge, engine, on_stage) if run.job.judge else None
    mode = "critique" if run.settings.critique else "direct"
    provenance = Provenance(run.loaded.constitution.name, run.loaded.sha256, run.model_label, run.settings.seed, mode)
    generating = time.perf_counter()
    try:
        for chunk in _chunks(run.todo, run.job.chunk_size):
            states = runner.run(chunk)
            outcomes = [(state, as_reject(state)) for state in states]
            if judge is not None:
                outcomes = _judged(outcomes, judge, run.job.min_margin, summary)
            for state, entry in outcomes:
                if entry is None:
                    pairs.write(preference_row(state, provenance))
                    summary.pairs_out += 1
                else:
                    rejects.write(entry.as_dict())
                    summary.count(entry)
            pairs.commit()
            rejects.commit()
    finally:
        summary.generate_seconds = time.perf_counter() - generating


def _judged(
    outcomes: list[tuple[Revision, Reject | None]], judge: PairwiseJudge, min_margin: float | None, summary: Summary
) -> list[tuple[Revision, Reject | None]]:
    """Label final (a) against initial (b) for every pair; drop those below --min-margin."""
    pending = [state for state, entry in outcomes if entry is None]
    tasks = {id(s): PairTask(s.record.key, s.record.row.conversation(), s.current, s.initial) for s in pending}
    for state in pending:
        if not judge.fits(tasks[id(state)]):
            state.quarantine = ("prompt_too_long", "judge: the comparison prompt exceeds max_model_len")
    fitting = [state for state in pending if state.quarantine is None]
    verdicts = dict(zip([id(s) for s in fitting], judge.judge([tasks[id(s)] for s in fitting]), strict=True))
    judged: list[tuple[Revision, Reject | None]] = []
    for state, entry in outcomes:
        verdict = verdicts.get(id(state))
        if verdict is None:  # not a pair, or quarantined just above
            judged.append((state, entry or as_reject(state)))
            continue
        state.judge = verdict.as_dict()
        summary.pair_judgements += 1
        summary.position_consistent += verdict.position_consistent
        summary.abs_margin_total += abs(verdict.margin)
        if min_margin is not None and verdict.margin < min_margin:
            detail = f"the judge's margin for the revision is {verdict.margin:.3f} < --min-margin {min_margin}"
            raw = truncate(state.record.raw())
            entry = Reject(state.record.line, "judge_margin", detail, raw, state.record.key, kind="dropped")
        judged.append((state, entry))
    return judged


def _parameters(
    loaded: constitution.LoadedConstitution,
    model_label: str,
    settings: ReviseSettings,
    judge: JudgeSettings | None,
    min_margin: float | None,
) -> dict[str, Any]:
    """What decides the rows' content; a resume must match these exactly."""
    return {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": model_label,
        **asdict(settings),
        "prompt_format": PROMPT_FORMAT_VERSION,
        **({"judge": asdict(judge), "min_margin": min_margin} if judge else {}),
    }


def _settings(job: ReviseJob, defaults: constitution.SamplingDefaults) -> ReviseSettings:
    return ReviseSettings(
        rounds=job.rounds if job.rounds is not None else defaults.rounds,
        critique=job.critique,
        max_tokens=job.max_tokens if job.max_tokens is not None else defaults.max_tokens,
        temperature=job.temperature if job.temperature is not None else defaults.temperature,
        top_p=job.top_p if job.top_p is not None else defaults.top_p,
        seed=job.seed,
    )


def _complete(manifest_path: Path) -> bool:
    manifest = read_manifest(manifest_path)
    return manifest is not None and manifest.get("status") == "complete"


def _plan(records: Sequence[Record], settings: ReviseSettings) -> dict[str, int]:
    plan = {"initial": sum(r.row.response is None for r in records)}
    if settings.critique:
        plan["critique"] = len(records) * settings.rounds
    plan["revision"] = len(records) * settings.rounds
    return plan


def _chunks(records: Sequence[Record], size: int) -> Iterator[Sequence[Record]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
