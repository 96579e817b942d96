"""Everything `cai eval` decides before a model loads: the sides, the judge, the rows to do, the rejects.

Prompt rows and answer files are validated, every role's model (or servers) is resolved, and what an
earlier run of the same command already wrote is set aside (cai.ledger). A prompt that cannot be
answered from a file (no id, or no answer with its id) is quarantined here, before any model work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai import constitution
from cai.engines.ray import RayOptions
from cai.evaluation.answers import Sampling, answer_key
from cai.evaluation.engines import Role
from cai.evaluation.inputs import AnswerFile, Item, read_answer_file, validate_eval_prompt
from cai.evaluation.rows import SideInfo
from cai.judge import JudgeSettings
from cai.ledger import OutputPaths, Plan, plan_resume
from cai.pipeline import Progress
from cai.preflight import EngineFactory, check_bad_rows, check_paths, resolve_engine
from cai.records import MAX_ROW_BYTES, InputFormat, Reject, fingerprint, scan_rows

EVAL_FORMAT_VERSION = 1
JUDGE_FORMAT_VERSION = 2  # as cai score's: the judge reads the next token's top-k


@dataclass(frozen=True)
class SideJob:
    """One side as asked for: a model and its sampling (None: the constitution's), or an answers file."""

    model: str | None = None
    answers: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class EvalJob:
    prompts: str
    a: SideJob = SideJob()
    b: SideJob = SideJob()
    judge_model: str | None = None
    output: str | None = None
    constitution: str = "harmless"
    principles: int = 4
    tie_margin: float = 0.0
    chunk_size: int = 32
    engine_args: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    servers_file: str | None = None
    server_concurrency: int = 64
    ray: RayOptions | None = None  # --ray and its replica options: engines as Ray actors (cai.engines.ray)
    input_format: InputFormat = "auto"
    rejects: str | None = None
    overwrite: bool = False
    max_bad_rows: int = 10
    max_row_bytes: int = MAX_ROW_BYTES


@dataclass(frozen=True)
class Side:
    """A resolved side: generated on `role` with `sampling`, or read from `file`."""

    name: str
    label: str
    role: Role | None = None
    sampling: Sampling | None = None
    file: AnswerFile | None = None

    def key(self, item: Item) -> str:
        assert self.sampling is not None
        return answer_key(item, self.label, self.sampling)

    @property
    def info(self) -> SideInfo:
        return SideInfo(self.label, self.sampling)

    def parameters(self) -> dict[str, Any]:
        if self.file is not None:
            return {"answers": self.file.path, "sha256": self.file.sha256}
        assert self.sampling is not None
        return {"model": self.label, **self.sampling.__dict__}


@dataclass(frozen=True)
class Prepared:
    job: EvalJob
    loaded: constitution.LoadedConstitution
    paths: OutputPaths
    answers_path: Path | None
    input_label: str
    a: Side
    b: Side
    judge: Side
    judge_settings: JudgeSettings
    parameters: dict[str, Any]
    stamp: dict[str, Any]
    plan: Plan[Item]
    todo: list[Item]
    new_rejects: list[Reject]
    warnings: list[str] = field(default_factory=list)


def prepare(
    job: EvalJob,
    loaded: constitution.LoadedConstitution,
    engine_args: Mapping[str, str],
    progress: Progress,
    factory: EngineFactory,
) -> Prepared:
    paths = OutputPaths.for_output(job.output, job.rejects, command="eval")
    check_paths(job.prompts, paths)
    files = {name: read_answer_file(s.answers, f"--answers-{name}") for name, s in _sides(job) if s.answers}
    scanned = scan_rows(job.prompts, job.input_format, job.max_row_bytes, validate_eval_prompt)
    check_bad_rows(scanned, job.max_bad_rows)
    resolved: dict[str | None, Role] = {}

    def role(model: str | None) -> Role:
        if model not in resolved:
            path, label, built = resolve_engine(
                model,
                job.servers,
                job.servers_file,
                engine_args,
                progress.note,
                factory,
                job.server_concurrency,
                job.ray,
            )
            resolved[model] = Role(path, label, built)
        return resolved[model]

    defaults = loaded.constitution.defaults
    a, b = (_side(name, s, files.get(name), role, defaults) for name, s in _sides(job))
    judge_role = role(job.judge_model)
    judge = Side("judge", judge_role.label, judge_role)
    settings = JudgeSettings(principles=job.principles)
    parameters = {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "a": a.parameters(),
        "b": b.parameters(),
        "judge": {"model": judge.label, "principles": job.principles, "judge_format": JUDGE_FORMAT_VERSION},
        "tie_margin": job.tie_margin,
        "eval_format": EVAL_FORMAT_VERSION,
    }
    run_key = fingerprint(parameters)
    items = [Item(line, row, _row_key(row.model_dump(mode="json"), run_key)) for line, row in scanned.rows]
    answers_path = _answers_path(paths)
    if job.overwrite and answers_path is not None:
        answers_path.unlink(missing_ok=True)
    plan = plan_resume(paths, parameters, job.overwrite, items, scanned.rejects, key_of=lambda r: r["scores"]["key"])
    todo, unanswerable = _answerable(plan.todo, files)
    return Prepared(
        job=job,
        loaded=loaded,
        paths=paths,
        answers_path=answers_path,
        input_label=scanned.label,
        a=a,
        b=b,
        judge=judge,
        judge_settings=settings,
        parameters=parameters,
        stamp={"model": judge.label, "constitution": parameters["constitution"]},
        plan=plan,
        todo=todo,
        new_rejects=plan.new_rejects + unanswerable,
        warnings=_self_preference(a, b, judge),
    )


def _sides(job: EvalJob) -> list[tuple[str, SideJob]]:
    return [("a", job.a), ("b", job.b)]


def _side(
    name: str,
    asked: SideJob,
    file: AnswerFile | None,
    role: Callable[[str | None], Role],
    defaults: constitution.SamplingDefaults,
) -> Side:
    if file is not None:
        return Side(name, f"answers:{file.path}", file=file)
    resolved = role(asked.model)
    sampling = Sampling(
        max_tokens=asked.max_tokens if asked.max_tokens is not None else defaults.max_tokens,
        temperature=asked.temperature if asked.temperature is not None else defaults.temperature,
        top_p=asked.top_p if asked.top_p is not None else defaults.top_p,
        seed=asked.seed,
    )
    return Side(name, resolved.label, resolved, sampling)


def _row_key(row: dict[str, Any], run_key: str) -> str:
    return fingerprint({"row": json.dumps([row, run_key], sort_keys=True, ensure_ascii=False)})[:24]


def _answers_path(paths: OutputPaths) -> Path | None:
    if paths.output is None:
        return None
    stem = paths.output.with_suffix("") if paths.output.suffix else paths.output
    return Path(f"{stem}.answers.jsonl")


def _answerable(todo: list[Item], files: dict[str, AnswerFile]) -> tuple[list[Item], list[Reject]]:
    """Prompts a file side can answer, and a quarantine entry for each it cannot."""
    kept: list[Item] = []
    rejects: list[Reject] = []
    for item in todo:
        problem = None
        for name, file in sorted(files.items()):
            if item.row.ident is None:
                problem = ("no_id", f"--answers-{name} is matched by id, and this row has none")
            elif item.row.ident not in file.answers:
                problem = ("missing_answer", f"--answers-{name} {file.path} has no answer with id {item.row.ident!r}")
            if problem:
                break
        if problem is None:
            kept.append(item)
        else:
            rejects.append(Reject(item.line, problem[0], problem[1], item.reject_raw(), item.key))
    return kept, rejects


def _self_preference(a: Side, b: Side, judge: Side) -> list[str]:
    same = [side.name.upper() for side in (a, b) if side.file is None and side.label == judge.label]
    if not same:
        return []
    which = " and ".join(same)
    return [
        f"the judge is model {which} ({judge.label}): judges favour answers like their own (self-preference); "
        "use --judge-model with a third model for a verdict you can trust"
    ]
