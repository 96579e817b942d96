"""Everything `cai eval` decides before a model loads: the sides, the judge, the rows to do, the rejects.

Prompt rows and answer files are validated, every role's model (or servers) is resolved, and what an
earlier run of the same command already wrote is set aside (cai.runs.ledger). A prompt that cannot be
answered from a file (no id, or no answer with its id) is quarantined here, before any model work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cai import constitution
from cai.evaluation.answers import Sampling, answer_key
from cai.evaluation.inputs import AnswerFile, Item, read_answer_file, validate_eval_prompt
from cai.evaluation.rows import SideInfo
from cai.io.keys import fingerprint, record_key
from cai.io.lines import InputFormat, scan_rows
from cai.io.records import Reject
from cai.io.scored import key_of
from cai.judge import FORMAT_VERSION as JUDGE_FORMAT
from cai.judge.pairwise import JudgeSettings
from cai.options import option
from cai.runs.checks import check_bad_rows, check_paths
from cai.runs.engines import Role, resolve_role
from cai.runs.harness import Prepared
from cai.runs.ledger import OutputPaths, read_resume
from cai.runs.options import RunJob
from cai.runs.progress import Progress

EVAL_FORMAT_VERSION = 1


_MODEL = "Local model folder or model name (with --server: the served model's name). Default: embedded SmolLM2."


@dataclass(frozen=True)
class SideOptions:
    """One side as asked for: a model and its sampling (None: the constitution's), or an answers file.

    `cai eval` has these options once per side (`--model-a`, `--model-b`, ...: cai.options.Suffix)."""

    model: str | None = option(None, help="Side {side}'s model. " + _MODEL)
    answers: str | None = option(None, help="Side {side}'s answers from a JSONL file of {{id, response}} rows.")
    max_tokens: int | None = option(None, min=1, help="Side {side}: new tokens. Default: the constitution's.")
    temperature: float | None = option(
        None, min=0.0, max=2.0, help="Side {side}: temperature. Default: the constitution's."
    )
    top_p: float | None = option(None, min=0.01, max=1.0, help="Side {side}: top-p. Default: the constitution's.")
    seed: int = option(0, help="Side {side}: seeds its generations (with the prompt).")


@dataclass(frozen=True)
class EvalJudging:
    """The judge of an eval and how its verdicts count."""

    judge_model: str | None = option(None, "--judge-model", "-j", help="The judge. " + _MODEL)
    principles: int = option(4, min=1, help="Comparison principles per pair (an ensemble).")
    tie_margin: float = option(0.0, min=0.0, max=1.0, help="A pair whose |margin| is at most this is a tie.")
    chunk_size: int = option(32, min=1, help="Prompts in flight at once; rows flushed every N.")
    input_format: InputFormat = option("auto", help="auto (by extension, else by content), jsonl or text.")


@dataclass(frozen=True)
class EvalJob(RunJob):
    command: ClassVar[str] = "eval"
    prompts: str
    a: SideOptions = field(default_factory=SideOptions)
    b: SideOptions = field(default_factory=SideOptions)
    judging: EvalJudging = field(default_factory=EvalJudging)


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


@dataclass(frozen=True, kw_only=True)
class EvalPrepared(Prepared[Item]):
    """A validated eval: the harness's facts, and both sides, the judge and the answer cache's path."""

    job: EvalJob
    answers_path: Path | None
    a: Side
    b: Side
    judge: Side
    judge_settings: JudgeSettings
    stamp: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def prepare(job: EvalJob, loaded: constitution.LoadedConstitution, progress: Progress) -> EvalPrepared:
    paths = job.paths
    check_paths(job.prompts, paths)
    files = {name: read_answer_file(s.answers, f"--answers-{name}") for name, s in _sides(job) if s.answers}
    scanned = scan_rows(job.prompts, job.judging.input_format, job.limits.max_row_bytes, validate_eval_prompt)
    check_bad_rows(scanned, job.limits.max_bad_rows)
    resolved: dict[str | None, Role] = {}

    def role(model: str | None) -> Role:
        if model not in resolved:
            resolved[model] = resolve_role(model, job.engine, progress.note)
        return resolved[model]

    defaults = loaded.constitution.defaults
    a, b = (_side(name, s, files.get(name), role, defaults) for name, s in _sides(job))
    judge_role = role(job.judging.judge_model)
    judge = Side("judge", judge_role.label, judge_role)
    parameters = {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "a": a.parameters(),
        "b": b.parameters(),
        "judge": {"model": judge.label, "principles": job.judging.principles, "judge_format": JUDGE_FORMAT},
        "tie_margin": job.judging.tie_margin,
        "eval_format": EVAL_FORMAT_VERSION,
    }
    run_key = fingerprint(parameters)
    items = [Item(line, row, record_key(row.model_dump(mode="json"), run_key)) for line, row in scanned.rows]
    answers_path = _answers_path(paths)
    if job.output.overwrite and answers_path is not None:
        answers_path.unlink(missing_ok=True)
    resume = read_resume(paths, parameters, job.output.overwrite, items, scanned.rejects, key_of)
    todo, unanswerable = _answerable(resume.todo, files)
    return EvalPrepared(
        tool="cai eval",
        paths=paths,
        input_label=scanned.label,
        loaded=loaded,
        model_label=f"a={a.label} b={b.label} judge={judge.label}",
        parameters=parameters,
        resume=resume,
        todo=todo,
        new_rejects=resume.new_rejects + unanswerable,
        job=job,
        answers_path=answers_path,
        a=a,
        b=b,
        judge=judge,
        judge_settings=JudgeSettings(principles=job.judging.principles),
        stamp={"model": judge.label, "constitution": parameters["constitution"]},
        warnings=_self_preference(a, b, judge),
        input_files={"prompts": job.prompts, **{f"answers_{name}": file.path for name, file in files.items()}},
        roles={side.name: side.role for side in (a, b, judge) if side.role is not None},
    )


def _sides(job: EvalJob) -> list[tuple[str, SideOptions]]:
    return [("a", job.a), ("b", job.b)]


def _side(
    name: str,
    asked: SideOptions,
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
            rejects.append(item.reject(*problem))
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
