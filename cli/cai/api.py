"""cai as a Python library: what a notebook, a training script and bench/ use.

    from cai import api

    engine = api.build_engine()                                  # vLLM on the embedded model, cai's defaults
    for row in api.revise(["How do I pick a lock?"], engine, rounds=1, max_tokens=64):
        print(row["chosen"])                                     # a TRL row, or a reject entry with "reason"
    scored = list(api.score(api.read_rows("pairs.jsonl"), engine, principles=2))
    api.write_rows("scored.jsonl", scored)
    candidates = list(api.sample(["How do I pick a lock?"], engine, n=4, max_tokens=64))
    pairs = list(api.score(candidates, engine, pairs="all"))      # one row per judged pair

    summary = api.run_revise(api.ReviseJob.of("prompts.jsonl", "pairs.jsonl", rounds=2), engine=engine)

`revise`, `sample` and `score` stream rows through the same flows, keys and row shapes as the commands (a
row made here has the key the command would give it); `run_revise`, `run_sample` and `run_score` are the
commands' core functions on files (resume, quarantine, manifest). An engine passed in is lent: cai never closes it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from cai.constitution import LoadedConstitution
from cai.constitution import load as load_constitution
from cai.engines.cpu import read_cpu
from cai.engines.events import StageDone
from cai.engines.protocol import Engine, Generation, Message, Request
from cai.engines.registry import EngineFactory, register_engine
from cai.io.jsonl import JsonlWriter
from cai.io.lines import scan_objects
from cai.io.records import Reject, validate_prompt_row
from cai.judge.pairwise import JudgeSettings
from cai.revise.run import ReviseJob, Summary, prepare, revised
from cai.runs.engines import Role, resolve_model
from cai.runs.progress import Progress
from cai.sample.run import SampleJob, SampleSummary, sampled
from cai.sample.run import prepare as prepare_sample
from cai.score.run import ScoreJob, ScoreSummary, prepare_score, scored

__all__ = [
    "Engine",
    "Generation",
    "JudgeSettings",
    "LoadedConstitution",
    "Message",
    "Request",
    "ReviseJob",
    "SampleJob",
    "SampleSummary",
    "ScoreJob",
    "StageDone",
    "Summary",
    "build_engine",
    "cpu",
    "embedded_model",
    "load_constitution",
    "read_rows",
    "register_engine",
    "revise",
    "run_revise",
    "run_sample",
    "run_score",
    "sample",
    "score",
    "server_engine",
    "vllm_settings",
    "write_rows",
]

J = TypeVar("J", ReviseJob, ScoreJob, SampleJob)
_lent_names = itertools.count()


class Silent:
    """A Progress that shows nothing: the default for library calls."""

    def note(self, message: str) -> None: ...

    def begin(self, plan: Mapping[str, int]) -> None: ...

    def advance(self, event: StageDone) -> None: ...


def build_engine(
    model: str | None = None, engine_args: Mapping[str, str] | None = None, label: str | None = None
) -> Engine:
    """vLLM in this process on `model` (default: the embedded SmolLM2), with cai's CPU or GPU defaults;
    `label` is the model name written on rows (default: what the commands write)."""
    from cai.engines.vllm import VLLMEngine

    path, default_label = resolve_model(model, lambda message: None)
    return VLLMEngine(path, dict(engine_args or {}), model_name=label or default_label)


def server_engine(urls: Sequence[str], model: str | None = None, concurrency: int = 64) -> Engine:
    """An engine over vLLM servers (`vllm serve`, `cai model serve`), each checked first as `--server` does;
    `concurrency` requests in flight per server, as --server-concurrency."""
    from cai.engines.probe import check_servers
    from cai.engines.server import DEFAULT_SETTINGS, ServerEngine

    fleet = check_servers(urls, model)
    settings = replace(DEFAULT_SETTINGS, concurrency=concurrency)
    return ServerEngine(fleet.urls, fleet.model, fleet.max_model_len, settings)


def embedded_model() -> tuple[str, str]:
    """(folder, row label) of the embedded SmolLM2-135M-Instruct, converted on first use."""
    return resolve_model(None, lambda message: None)


def vllm_settings(engine_args: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments cai gives `vllm.LLM` on this machine (its defaults, then `engine_args` typed):
    what a raw-vLLM baseline needs to run under the same settings."""
    import dataclasses

    import vllm

    from cai.engines.args import coerce_engine_args
    from cai.engines.vllm import engine_defaults, on_cpu

    fields = {f.name: f.type for f in dataclasses.fields(vllm.EngineArgs)}
    return {**engine_defaults(on_cpu())[0], **coerce_engine_args(dict(engine_args or {}), fields)}


def cpu() -> str:
    """The processor cai runs on: model name and the flags that decide its dtype (for benchmark records)."""
    return read_cpu().describe()


def revise(rows: Iterable[dict[str, Any] | str], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (a prompt string, or a dict as in a prompt file) revised on `engine`, in input order:
    its output row, or its reject entry (which has a "reason"). `options` are `ReviseJob` fields
    (constitution, rounds, max_tokens, temperature, top_p, seed, judge, min_margin, output_format, ...)."""
    job = ReviseJob.of("<rows>", **options)
    scanned = scan_objects(rows, validate_prompt_row)
    run = prepare(job, Silent(), scanned=scanned, role=_lent_role(engine))
    yield from _in_order(run.new_rejects, revised(run, engine, _ignore, Summary()))


def sample(rows: Iterable[dict[str, Any] | str], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (a prompt string, or a dict as in a prompt file) as N candidates on `engine`, in input order: its
    output row (`responses`, `cai`), or its reject entry. `options` are `SampleJob` fields (n, framing,
    constitution, max_tokens, temperature, top_p, seed, ...)."""
    job = SampleJob.of("<rows>", **options)
    scanned = scan_objects(rows, validate_prompt_row)
    run = prepare_sample(job, Silent(), scanned=scanned, role=_lent_role(engine))
    yield from _in_order(run.new_rejects, sampled(run, engine, _ignore))


def score(rows: Iterable[dict[str, Any]], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (any shape `cai score` reads) judged on `engine`, in input order: the row plus its
    `scores`, or its reject entry. `options` are `ScoreJob` fields (constitution, principles, cot, mode, pairs, ...);
    with pairs="all" or "adjacent" a ranked row gives one row per judged pair."""
    job = ScoreJob.of("<rows>", **options)
    scanned = scan_objects(rows, job.row_reader)
    run = prepare_score(job, Silent(), scanned=scanned, role=_lent_role(engine))
    yield from _in_order(run.new_rejects, scored(run, engine, _ignore, ScoreSummary()))


def run_revise(
    job: ReviseJob, progress: Progress | None = None, engine: Engine | EngineFactory | None = None
) -> Summary:
    """`cai revise` on files; `engine` is an engine to lend, or a factory `(path, engine_args, label) -> Engine`."""
    from cai.revise.run import run_revise as run

    return run(_on(job, engine), progress or Silent())


def run_sample(
    job: SampleJob, progress: Progress | None = None, engine: Engine | EngineFactory | None = None
) -> SampleSummary:
    """`cai sample` on files; `engine` as for `run_revise`."""
    from cai.sample.run import run_sample as run

    return run(_on(job, engine), progress or Silent())


def run_score(
    job: ScoreJob, progress: Progress | None = None, engine: Engine | EngineFactory | None = None
) -> ScoreSummary:
    """`cai score` on files; `engine` as for `run_revise`."""
    from cai.score.run import run_score as run

    return run(_on(job, engine), progress or Silent())


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every row of a JSONL file, one at a time."""
    with Path(path).open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def write_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Append rows to a JSONL file (fsynced at the end); the number written."""
    writer = JsonlWriter(Path(path), append=True)
    for row in rows:
        writer.write(row)
    writer.close()
    return writer.rows


def _on(job: J, engine: Engine | EngineFactory | None) -> J:
    if engine is None:
        return job
    name = f"api-{next(_lent_names)}"
    if callable(engine) and not hasattr(engine, "submit"):
        register_engine(name, engine)
    else:
        lent = _Lent(engine)  # type: ignore[arg-type]
        register_engine(name, lambda path, engine_args, label: lent)
    return replace(job, engine=replace(job.engine, engine=name))


def _lent_role(engine: Engine) -> Role:
    return Role(engine.model_name, engine.model_name, lambda *_: _Lent(engine), {}, None)


def _in_order(
    rejects: Sequence[Reject], results: Iterator[tuple[int, dict[str, Any] | list[dict[str, Any]] | Reject]]
) -> Iterator[dict[str, Any]]:
    """Bad input rows first (they never reach the engine), then every result in input order (a ranked row's
    pair rows one after another)."""
    from cai.engines.flows import in_order

    yield from (entry.as_dict() for entry in rejects)
    for result in in_order(results):
        if isinstance(result, list):
            yield from result
        else:
            yield result.as_dict() if isinstance(result, Reject) else result


def _ignore(event: StageDone) -> None:
    pass


class _Lent:
    """An engine lent to a run: the run's close() leaves it open for the caller."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.model_name, self.max_model_len = engine.model_name, engine.max_model_len
        self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self.engine.generate(requests)

    def submit(self, requests: Sequence[Request]) -> list[int]:
        return self.engine.submit(requests)

    def collect(self) -> list[tuple[int, Generation]]:
        return self.engine.collect()

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.engine.prompt_tokens(messages)

    def close(self) -> None:
        pass
