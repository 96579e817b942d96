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

    reward = api.reward_function(engine, mode="pairwise", principles=2)   # a TRL reward function (GRPO)
    api.record_lineage("./v2", trained_on=["pairs.jsonl"], base="embedded")  # after saving a trained model

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
from cai.engines.builders import Lent, build_engine, embedded_model, ray_engine, server_engine, vllm_settings
from cai.engines.cpu import read_cpu
from cai.engines.events import StageDone
from cai.engines.protocol import Engine, Generation, Message, Request
from cai.engines.registry import EngineFactory, register_engine
from cai.errors import InputError
from cai.io.jsonl import JsonlWriter
from cai.io.lines import scan_objects
from cai.io.records import Reject, validate_prompt_row
from cai.judge.pairwise import JudgeSettings
from cai.judge.reward import AsyncConstitutionReward, ConstitutionReward, RewardMode, RewardSettings
from cai.lineage.record import record_lineage
from cai.revise.run import ReviseJob, Summary, prepare, revised
from cai.runs.engines import Role
from cai.runs.harness import Given
from cai.runs.progress import Progress
from cai.sample.run import SampleJob, SampleSummary, sampled
from cai.sample.run import prepare as prepare_sample
from cai.score.run import ScoreJob, ScoreSummary, prepare_score, scored

__all__ = [
    "ConstitutionReward",
    "Engine",
    "Generation",
    "JudgeSettings",
    "Lent",
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
    "ray_engine",
    "read_rows",
    "record_lineage",
    "register_engine",
    "revise",
    "reward_function",
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

    def begin(self, totals: Mapping[str, int]) -> None: ...

    def advance(self, event: StageDone) -> None: ...


def cpu() -> str:
    """The processor cai runs on: model name and the flags that decide its dtype (for benchmark records)."""
    return read_cpu().describe()


def revise(rows: Iterable[dict[str, Any] | str], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (a prompt string, or a dict as in a prompt file) revised on `engine`, in input order:
    its output row, or its reject entry (which has a "reason"). `options` are `ReviseJob` fields
    (constitution, rounds, max_tokens, temperature, top_p, seed, judge, min_margin, output_format, ...)."""
    job = ReviseJob.of("<rows>", **options)
    scanned = scan_objects(rows, validate_prompt_row)
    run = prepare(job, Silent(), Given(scanned=scanned, role=_lent_role(engine)))
    yield from _in_order(run.new_rejects, revised(run, engine, _ignore, Summary()))


def sample(rows: Iterable[dict[str, Any] | str], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (a prompt string, or a dict as in a prompt file) as N candidates on `engine`, in input order: its
    output row (`responses`, `cai`), or its reject entry. `options` are `SampleJob` fields (n, framing,
    constitution, max_tokens, temperature, top_p, seed, ...)."""
    job = SampleJob.of("<rows>", **options)
    scanned = scan_objects(rows, validate_prompt_row)
    run = prepare_sample(job, Silent(), Given(scanned=scanned, role=_lent_role(engine)))
    yield from _in_order(run.new_rejects, sampled(run, engine, _ignore))


def score(rows: Iterable[dict[str, Any]], engine: Engine, **options: Any) -> Iterator[dict[str, Any]]:
    """Each row (any shape `cai score` reads) judged on `engine`, in input order: the row plus its
    `scores`, or its reject entry. `options` are `ScoreJob` fields (constitution, principles, cot, mode, pairs, ...);
    with pairs="all" or "adjacent" a ranked row gives one row per judged pair."""
    job = ScoreJob.of("<rows>", **options)
    scanned = scan_objects(rows, job.row_reader)
    run = prepare_score(job, Silent(), Given(scanned=scanned, role=_lent_role(engine)))
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


def reward_function(
    engine: Engine,
    constitution: str = "harmless",
    mode: RewardMode = "pointwise",
    principles: int = 4,
    reference_column: str = "reference",
    rubric_max_tokens: int = 96,
    asynchronous: bool = False,
) -> ConstitutionReward:
    """The constitution's judge on `engine` as a TRL reward function (GRPOTrainer's `reward_funcs`, RLOO,
    online DPO): `pointwise` rewards the rubric score (1–10, mean of `principles` principles), `pairwise`
    P(completion better than the dataset's `reference_column` answer), both orders and `principles`
    principles averaged. None for a completion it cannot score. `asynchronous` returns a coroutine
    function (TRL runs those side by side with other async rewards). The engine is lent: never closed."""
    if mode not in ("pointwise", "pairwise"):
        raise InputError(f"mode must be 'pointwise' or 'pairwise', not {mode!r}")
    if principles < 1 or rubric_max_tokens < 1:
        raise InputError("principles and rubric_max_tokens must be at least 1")
    settings = RewardSettings(mode, principles, reference_column, rubric_max_tokens)
    kind = AsyncConstitutionReward if asynchronous else ConstitutionReward
    return kind(engine, load_constitution(constitution), settings)


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
        lent = Lent(engine)  # type: ignore[arg-type]
        register_engine(name, lambda path, engine_args, label: lent)
    return replace(job, engine=replace(job.engine, engine=name))


def _lent_role(engine: Engine) -> Role:
    return Role(engine.model_name, engine.model_name, lambda *_: Lent(engine), {}, None)


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
