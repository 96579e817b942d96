"""`cai revise` as one core function: validate everything, load one engine, stream chunks through.

Everything that can be wrong with the input is found before the model loads. Every input row
ends up in exactly one place: the output (a pair), the rejects file (quarantined or dropped, with
its reason), or it was already there from an earlier run of the same command (resume). Nothing
here prints: progress and notes go through the `Progress` callbacks the CLI layer supplies.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cai import constitution, model
from cai.engine import Engine, VLLMEngine, parse_engine_args
from cai.errors import InputError
from cai.ledger import Holdings, OutputPaths, prepare_resume, read_manifest
from cai.manifest import Manifest
from cai.output import JsonlWriter, Provenance, as_reject, preference_row
from cai.records import MAX_ROW_BYTES, InputFormat, Record, Reject, Scan, fingerprint, record_key, scan, truncate
from cai.revise import ReviseRunner, ReviseSettings, StageDone

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
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: str = "<stdout>"
    rejects: str = ""

    def add(self, event: StageDone) -> None:
        self.prompt_tokens += event.prompt_tokens
        self.output_tokens += event.output_tokens
        self.length_stops += event.length_stops

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
    _check_paths(job, paths)
    scanned = scan(job.prompts, job.input_format, job.max_row_bytes)
    _check_bad_rows(scanned, job.max_bad_rows)
    model_path, model_label = resolve_model(job.model, progress.note)
    parameters = _parameters(loaded, model_label, settings)
    holdings = prepare_resume(paths, parameters, job.overwrite) if paths.output else Holdings.empty()
    run_key = fingerprint(parameters)
    records, duplicates = _split_duplicates([Record(line, row, record_key(row, run_key)) for line, row in scanned.rows])
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
    mode = "critique" if run.settings.critique else "direct"
    provenance = Provenance(run.loaded.constitution.name, run.loaded.sha256, run.model_label, run.settings.seed, mode)
    generating = time.perf_counter()
    try:
        for chunk in _chunks(run.todo, run.job.chunk_size):
            for state in runner.run(chunk):
                entry = as_reject(state)
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


def resolve_model(requested: str | None, note: Callable[[str], None]) -> tuple[str, str]:
    """(what vLLM loads, the label written on every row). No model given means the embedded one."""
    if requested is None:
        embedded = model.prepare(note)
        return str(embedded.folder), f"{model.MODEL_LABEL}@{embedded.gguf_sha256[:12]}"
    path = Path(requested).expanduser()
    if not path.exists() and requested.startswith(("/", ".", "~")):
        raise InputError(f"--model {requested}: no such folder; give a model folder or a model name")
    if path.exists() and not (path / "config.json").is_file():
        raise InputError(f"--model {requested}: folder has no config.json; point at a Hugging Face model folder")
    return (str(path), str(path)) if path.exists() else (requested, requested)


def _parameters(loaded: constitution.LoadedConstitution, model_label: str, settings: ReviseSettings) -> dict[str, Any]:
    """What decides the rows' content; a resume must match these exactly."""
    return {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": model_label,
        **asdict(settings),
        "prompt_format": PROMPT_FORMAT_VERSION,
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


def _split_duplicates(records: list[Record]) -> tuple[list[Record], list[Reject]]:
    """A row repeated verbatim would give the same pair again (same key, same seeds): drop the repeats."""
    first_line: dict[str, int] = {}
    unique: list[Record] = []
    duplicates: list[Reject] = []
    for record in records:
        if record.key in first_line:
            raw = json.dumps(record.row.model_dump(mode="json", exclude_none=True), ensure_ascii=False).encode()
            detail = f"same row as line {first_line[record.key]}"
            key = f"{record.key}#line{record.line}"
            duplicates.append(Reject(record.line, "duplicate", detail, truncate(raw), key, kind="dropped"))
        else:
            first_line[record.key] = record.line
            unique.append(record)
    return unique, duplicates


def _check_paths(job: ReviseJob, paths: OutputPaths) -> None:
    written = [p for p in (paths.output, paths.rejects, paths.manifest) if p is not None]
    if job.prompts != "-" and any(p.resolve() == Path(job.prompts).resolve() for p in written):
        raise InputError(f"the output files would overwrite the input {job.prompts}; choose another -o")
    for path in written:
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file path such as {path}/pairs.jsonl")


def _check_bad_rows(scanned: Scan, limit: int) -> None:
    if len(scanned.rejects) <= limit:
        return
    shown = "\n".join(f"{scanned.label}:{r.line}: {r.reason}: {r.detail}" for r in scanned.rejects[:10])
    raise InputError(
        f"{len(scanned.rejects)} of {scanned.lines} rows in {scanned.label} are bad (limit --max-bad-rows {limit}); "
        f"nothing was generated. First ones:\n{shown}"
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
