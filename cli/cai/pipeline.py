"""`cai revise` as one core function: validate everything, load one engine, stream chunks through.

Everything that can be wrong with the input is found before the model loads. Nothing here
prints: progress and notes go through the `Progress` callbacks the CLI layer supplies.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cai import constitution, model
from cai.engine import Engine, VLLMEngine, parse_engine_args
from cai.errors import InputError
from cai.output import Provenance, drop_reason, open_output, preference_row
from cai.records import InputFormat, Record, fingerprint, read_rows, record_key
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


@dataclass
class Summary:
    rows_in: int = 0
    pairs_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    output_tokens: int = 0
    length_stops: int = 0
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: str = "<stdout>"

    def add(self, event: StageDone) -> None:
        self.prompt_tokens += event.prompt_tokens
        self.output_tokens += event.output_tokens
        self.length_stops += event.length_stops


class Progress(Protocol):
    def note(self, message: str) -> None: ...

    def begin(self, plan: Mapping[str, int]) -> None:
        """Stage name → number of records the stage will process in the whole run."""

    def advance(self, event: StageDone) -> None: ...


EngineFactory = Callable[[str, Mapping[str, str], str], Engine]


def build_engine(model_path: str, engine_args: Mapping[str, str], label: str) -> Engine:
    return VLLMEngine(model_path, engine_args, model_name=label)


def run_revise(job: ReviseJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> Summary:
    started = time.perf_counter()
    loaded = constitution.load(job.constitution)
    settings = _settings(job, loaded.constitution.defaults)
    engine_args = parse_engine_args(job.engine_args)
    _check_output(job)
    rows = read_rows(job.prompts, job.input_format)
    model_path, model_label = resolve_model(job.model, progress.note)
    run_key = fingerprint(
        {
            "constitution": loaded.sha256,
            "model": model_label,
            "settings": settings.__dict__,
            "format": PROMPT_FORMAT_VERSION,
        }
    )
    records = [Record(line, row, record_key(row, run_key)) for line, row in rows]
    summary = Summary(rows_in=len(records), output=job.output or "<stdout>")

    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    progress.note(f"loading {model_label}")
    engine = engine_factory(model_path, engine_args, model_label)
    summary.load_seconds = time.perf_counter() - started
    progress.begin(_plan(records, settings))
    runner = ReviseRunner(loaded.constitution, settings, engine, on_stage)
    provenance = Provenance(
        loaded.constitution.name, loaded.sha256, model_label, job.seed, "critique" if job.critique else "direct"
    )
    generating = time.perf_counter()
    with open_output(job.output) as writer:
        for chunk in _chunks(records, job.chunk_size):
            for state in runner.run(chunk):
                reason = drop_reason(state)
                if reason:
                    summary.dropped[reason] += 1
                else:
                    writer.write(preference_row(state, provenance))
            writer.flush()
        summary.pairs_out = writer.rows
    summary.generate_seconds = time.perf_counter() - generating
    summary.wall_seconds = time.perf_counter() - started
    return summary


def resolve_model(requested: str | None, note: Callable[[str], None]) -> tuple[str, str]:
    """(what vLLM loads, the label written on every row). No model given means the embedded one."""
    if requested is None:
        embedded = model.prepare(note)
        return str(embedded.folder), f"{model.MODEL_LABEL}@{embedded.gguf_sha256[:12]}"
    path = Path(requested).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise InputError(f"--model {requested}: folder has no config.json; point at a Hugging Face model folder")
    return (str(path), str(path)) if path.exists() else (requested, requested)


def _settings(job: ReviseJob, defaults: constitution.SamplingDefaults) -> ReviseSettings:
    return ReviseSettings(
        rounds=job.rounds if job.rounds is not None else defaults.rounds,
        critique=job.critique,
        max_tokens=job.max_tokens if job.max_tokens is not None else defaults.max_tokens,
        temperature=job.temperature if job.temperature is not None else defaults.temperature,
        top_p=job.top_p if job.top_p is not None else defaults.top_p,
        seed=job.seed,
    )


def _check_output(job: ReviseJob) -> None:
    if job.output in (None, "-"):
        return
    if Path(job.output).resolve() == Path(job.prompts).resolve():
        raise InputError(f"-o {job.output}: the output would overwrite the input; choose another file")
    if Path(job.output).is_dir():
        raise InputError(f"-o {job.output} is a folder; give a file path such as {job.output}/pairs.jsonl")


def _plan(records: Sequence[Record], settings: ReviseSettings) -> dict[str, int]:
    plan = {"initial": sum(r.row.response is None for r in records)}
    if settings.critique:
        plan["critique"] = len(records) * settings.rounds
    plan["revision"] = len(records) * settings.rounds
    return plan


def _chunks(records: Sequence[Record], size: int) -> list[Sequence[Record]]:
    return [records[start : start + size] for start in range(0, len(records), size)]
