"""`cai revise` as one core function: validate everything, load one engine, stream chunks through.

Everything that can be wrong with the input is found before the model loads. Every input row
ends up in exactly one place: the output (a pair), the rejects file (quarantined or dropped, with
its reason), or it was already there from an earlier run of the same command (resume). Nothing
here prints: progress and notes go through the `Progress` callbacks the CLI layer supplies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from cai import constitution
from cai.engine_args import parse_engine_args
from cai.engines import Engine
from cai.engines.ray import RayOptions
from cai.engines.vllm import VLLMEngine
from cai.errors import InputError
from cai.events import StageDone
from cai.flows import drive, in_order
from cai.formats import OutputFormat, row_maker
from cai.judge import JudgeSettings, PairwiseJudge
from cai.judged import JudgedRecord, destination, record_flow
from cai.ledger import OutputPaths, Plan, plan_resume
from cai.manifest import Manifest
from cai.output import JsonlWriter, Provenance
from cai.preflight import EngineFactory, bad_rows_problem, check_paths, resolve_engine
from cai.records import MAX_ROW_BYTES, Record, chunks, fingerprint, record_key
from cai.revise import ReviseRunner, ReviseSettings
from cai.sources import SourceFormat, SourceOptions, read_prompts
from cai.sources.hh import HHResponse
from cai.tally import Tally

PROMPT_FORMAT_VERSION = 1
JUDGE_FORMAT_VERSION = 3  # as cai score's format: a resume never mixes verdicts read two ways


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
    servers: tuple[str, ...] = ()  # --server URLs (with --servers-file and CAI_SERVERS): vLLM servers, not in-process
    servers_file: str | None = None
    server_concurrency: int = 64  # requests in flight per server (with --ray, per replica)
    ray: RayOptions | None = None  # --ray and its replica options: engines as Ray actors (cai.engines.ray)
    input_format: SourceFormat = "auto"
    prompt_column: str | None = None  # tables: the prompt column (None: `prompt`, else hh-rlhf columns)
    id_column: str | None = None  # tables: the id column (None: `id` if there is one)
    split: str | None = None  # a DatasetDict folder's split
    hh_response: HHResponse = "drop"  # hh-rlhf: drop the final Assistant turn, or revise chosen's / rejected's
    rejects: str | None = None
    overwrite: bool = False
    max_bad_rows: int = 10
    max_row_bytes: int = MAX_ROW_BYTES
    judge: JudgeSettings | None = None  # --judge: label initial vs final of every pair
    min_margin: float | None = None  # --min-margin: drop pairs the judge does not clearly prefer
    output_format: OutputFormat = "trl"  # --format: the row shape (cai.formats); one file holds one shape


@dataclass
class Summary(Tally):
    """What `cai revise` did with every input row (see Tally), and how fast."""

    pairs_out: int = 0
    torn_lines: int = 0
    generate_seconds: float = 0.0

    @property
    def rows_out(self) -> int:
        return self.pairs_out


class Progress(Protocol):
    def note(self, message: str) -> None: ...

    def begin(self, plan: Mapping[str, int]) -> None:
        """Stage name → number of records the stage will process in the whole run."""

    def advance(self, event: StageDone) -> None: ...


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
    model_path: str
    model_label: str
    parameters: dict[str, Any]
    plan: Plan[Record]
    engine_factory: EngineFactory
    bad_rows: str | None = None  # a dry run's: the input has more bad rows than --max-bad-rows


def run_revise(job: ReviseJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> Summary:
    started = time.perf_counter()
    run = prepare(job, progress, engine_factory)
    summary = Summary(
        rows_in=run.plan.input_rows,
        already_done=run.plan.already_done,
        torn_lines=run.plan.holdings.torn_lines,
        output=str(run.paths.output or "<stdout>"),
        rejects=str(run.paths.rejects),
    )
    note_resume(run.plan, progress)
    if not run.plan.nothing_to_do(run.paths):  # else: no engine, no write, files stay byte-identical
        execute(run, progress, run.engine_factory, summary, started)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def note_resume(plan: Plan[Any], progress: Progress) -> None:
    if plan.holdings.torn_lines:
        progress.note(f"removed {plan.holdings.torn_lines} torn last line(s) left by an interrupted write")
    if plan.already_done:
        progress.note(f"resuming: {plan.already_done} of {plan.input_rows} rows are already done")


def prepare(
    job: ReviseJob, progress: Progress, engine_factory: EngineFactory = build_engine, dry_run: bool = False
) -> Prepared:
    """Validate options, constitution and every input row; find what an earlier run already did.

    A dry run changes no file and reports too many bad rows in `bad_rows` instead of stopping.
    """
    loaded = constitution.load(job.constitution)
    settings = _settings(job, loaded.constitution.defaults)
    engine_args = parse_engine_args(job.engine_args)
    paths = OutputPaths.for_output(job.output, job.rejects)
    check_paths(job.prompts, paths)
    scanned = read_prompts(job.prompts, source_options(job))
    bad_rows = bad_rows_problem(scanned, job.max_bad_rows)
    if bad_rows is not None and not dry_run:
        raise InputError(bad_rows)
    model_path, model_label, engine_factory = resolve_engine(
        job.model,
        job.servers,
        job.servers_file,
        engine_args,
        progress.note,
        engine_factory,
        job.server_concurrency,
        job.ray,
    )
    parameters = _parameters(loaded, model_label, settings, job.judge, job.min_margin)
    run_key = fingerprint(parameters)  # without the format: a row's key names its content, not its shape
    parameters["format"] = job.output_format
    records = [Record(line, row, record_key(row, run_key)) for line, row in scanned.rows]
    plan = plan_resume(
        paths, parameters, job.overwrite, records, scanned.rejects, key_of=lambda r: r["cai"]["key"], readonly=dry_run
    )
    return Prepared(
        job=job,
        loaded=loaded,
        settings=settings,
        engine_args=engine_args,
        paths=paths,
        input_label=scanned.label,
        model_path=model_path,
        model_label=model_label,
        parameters=parameters,
        plan=plan,
        engine_factory=engine_factory,
        bad_rows=bad_rows,
    )


def source_options(job: ReviseJob) -> SourceOptions:
    return SourceOptions(
        job.input_format, job.max_row_bytes, job.prompt_column, job.id_column, job.split, job.hh_response
    )


def execute(run: Prepared, progress: Progress, engine_factory: EngineFactory, summary: Summary, started: float) -> None:
    """Write the rows; the manifest says 'running' throughout and how the run ended at the end."""
    pairs = JsonlWriter(run.paths.output, append=True)
    rejects = JsonlWriter(run.paths.rejects, append=run.paths.output is not None)
    manifest = Manifest(run.paths, run.parameters, run.loaded, run.model_label, run.input_label, run.plan.holdings)
    with manifest.recording(summary, pairs, rejects):
        for entry in run.plan.new_rejects:
            rejects.write(entry.as_dict())
            summary.count(entry)
        rejects.commit()
        if run.plan.todo:
            with loaded_engine(engine_factory, run.model_path, run.engine_args, run.model_label, progress) as engine:
                summary.engine_loaded(engine, time.perf_counter() - started)
                _generate(run, engine, progress, summary, pairs, rejects)


@contextmanager
def loaded_engine(
    factory: EngineFactory, path: str, engine_args: Mapping[str, str], label: str, progress: Progress
) -> Iterator[Engine]:
    """One engine for every pass of the run, released however the run ends."""
    progress.note(f"loading {label}")
    engine = factory(path, engine_args, label)
    try:
        yield engine
    finally:
        engine.close()


def _generate(
    run: Prepared, engine: Engine, progress: Progress, summary: Summary, pairs: JsonlWriter, rejects: JsonlWriter
) -> None:
    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    progress.begin(_plan(run.plan.todo, run.settings, judged=run.job.judge is not None))
    runner = ReviseRunner(run.loaded.constitution, run.settings, engine, on_stage)
    judge = PairwiseJudge(run.loaded.constitution, run.job.judge, engine, on_stage) if run.job.judge else None
    make_row = row_maker(run.job.output_format)
    mode = "critique" if run.settings.critique else "direct"
    provenance = Provenance(run.loaded.constitution.name, run.loaded.sha256, run.model_label, run.settings.seed, mode)
    # lazily: a record's state exists from its start until its row is written, not for the whole run
    records = (JudgedRecord(runner.start(record)) for record in run.plan.todo)
    flows = (((number, record), record_flow(record, runner, judge, on_stage)) for number, record in enumerate(records))
    generating = time.perf_counter()
    try:
        finished = in_order(drive(engine, flows, window=run.job.chunk_size))
        for chunk in chunks(finished, run.job.chunk_size):
            for record in chunk:
                entry = destination(record, run.job.min_margin, summary)
                if entry is None:
                    pairs.write(make_row(record.state, provenance))
                    summary.pairs_out += 1
                else:
                    rejects.write(entry.as_dict())
                    summary.count(entry)
            pairs.commit()
            rejects.commit()
    finally:
        summary.generate_seconds = time.perf_counter() - generating


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
        **({"judge": asdict(judge), "min_margin": min_margin, "judge_format": JUDGE_FORMAT_VERSION} if judge else {}),
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


def _plan(records: Sequence[Record], settings: ReviseSettings, judged: bool) -> dict[str, int]:
    plan = {"initial": sum(r.row.response is None for r in records)}
    if settings.critique:
        plan["critique"] = len(records) * settings.rounds
    plan["revision"] = len(records) * settings.rounds
    if judged:
        plan["judge"] = len(records)
    return plan
