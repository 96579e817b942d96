"""`cai score` as one core function: AI feedback on existing rows, with the judge's reliability.

Rows are read and validated like prompts for `cai revise` (quarantine, --max-bad-rows), keyed,
resumed and written through the same ledger, writers and manifest. One engine scores every row; each
row is a flow of requests (rubric calls for pointwise rows, option reads for pairwise and ranked rows)
and up to --chunk-size rows are in flight, so no chunk waits for its slowest row.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cai import constitution
from cai.engine_args import parse_engine_args
from cai.engines import Engine
from cai.engines.ray import RayOptions
from cai.errors import InputError
from cai.events import StageDone
from cai.flows import drive, in_order
from cai.judge import JudgeSettings, PairwiseJudge
from cai.ledger import OutputPaths, Plan, plan_resume
from cai.manifest import Manifest
from cai.output import JsonlWriter
from cai.pipeline import Progress, build_engine, loaded_engine, note_resume
from cai.pointwise import PointwiseScorer
from cai.preflight import EngineFactory, bad_rows_problem, check_paths, resolve_engine
from cai.records import MAX_ROW_BYTES, Reject, chunks, fingerprint, truncate
from cai.score_flows import Outcome, RowScorers
from cai.score_rows import Mode, Scored, ScoreRow, read_score_row
from cai.sources import read_rows
from cai.tally import Tally

SCORE_FORMAT_VERSION = 3  # 2: the judge reads the next token's top-k, shared text first; 3: instruction shared too


@dataclass(frozen=True)
class ScoreJob:
    rows: str
    output: str | None = None
    constitution: str = "harmless"
    model: str | None = None
    principles: int = 4
    cot: bool = False
    clamp: tuple[float, float] = (0.4, 0.6)
    cot_max_tokens: int = 128
    rubric_max_tokens: int = 96
    temperature: float = 0.7
    seed: int = 0
    chunk_size: int = 32
    engine_args: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()  # as ReviseJob
    servers_file: str | None = None
    server_concurrency: int = 64  # requests in flight per server (with --ray, per replica)
    ray: RayOptions | None = None  # --ray and its replica options: engines as Ray actors (cai.engines.ray)
    rejects: str | None = None
    overwrite: bool = False
    max_bad_rows: int = 10
    max_row_bytes: int = MAX_ROW_BYTES
    mode: Mode = "auto"  # --mode: force one row kind; rows without its fields are quarantined
    split: str | None = None  # a DatasetDict folder's split


@dataclass
class ScoreSummary(Tally):
    """What `cai score` did with every row (see Tally), and how consistent its judge was."""

    scored: Counter[str] = field(default_factory=Counter)
    parse_failures: int = 0
    labelled: int = 0
    agreements: int = 0

    @property
    def rows_out(self) -> int:
        return sum(self.scored.values())

    def reliability(self) -> dict[str, Any]:
        """The figures that say how far to trust the judge's labels."""
        return {
            "rows_scored": self.rows_out,
            "pair_judgements": self.pair_judgements,
            **self.judge_figures(),
            "parse_failures": self.parse_failures,
            "labelled_rows": self.labelled,
            "agreement_with_labels": round(self.agreements / self.labelled, 4) if self.labelled else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "reliability": self.reliability()}


@dataclass(frozen=True)
class ScorePrepared:
    """A validated `cai score` run: everything decided before the model loads."""

    loaded: constitution.LoadedConstitution
    engine_args: Mapping[str, str]
    paths: OutputPaths
    input_label: str
    model_path: str
    model_label: str
    parameters: dict[str, Any]
    plan: Plan[Scored]
    engine_factory: EngineFactory
    bad_rows: str | None = None  # a dry run's: the input has more bad rows than --max-bad-rows


def prepare_score(
    job: ScoreJob, progress: Progress, engine_factory: EngineFactory = build_engine, dry_run: bool = False
) -> ScorePrepared:
    """Validate options, constitution and every row; find what an earlier run did (a dry run changes no file)."""
    loaded = constitution.load(job.constitution)
    engine_args = parse_engine_args(job.engine_args)
    paths = OutputPaths.for_output(job.output, job.rejects, command="score")
    check_paths(job.rows, paths)
    scanned = read_rows(job.rows, lambda data: read_score_row(data, job.mode), job.split, job.max_row_bytes)
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
    parameters = _parameters(job, loaded, model_label)
    run_key = fingerprint(parameters)
    items = [Scored(line, row, _key(row, run_key)) for line, row in scanned.rows]
    plan = plan_resume(
        paths, parameters, job.overwrite, items, scanned.rejects, key_of=lambda r: r["scores"]["key"], readonly=dry_run
    )
    return ScorePrepared(
        loaded, engine_args, paths, scanned.label, model_path, model_label, parameters, plan, engine_factory, bad_rows
    )


def run_score(job: ScoreJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> ScoreSummary:
    started = time.perf_counter()
    run = prepare_score(job, progress, engine_factory)
    loaded, paths, plan, model_label = run.loaded, run.paths, run.plan, run.model_label
    summary = ScoreSummary(
        rows_in=plan.input_rows,
        already_done=plan.already_done,
        output=str(paths.output or "<stdout>"),
        rejects=str(paths.rejects),
    )
    note_resume(plan, progress)
    if plan.nothing_to_do(paths):
        return summary
    writer = _ScoreWriter(paths, loaded, model_label, summary)
    manifest = Manifest(paths, run.parameters, loaded, model_label, run.input_label, plan.holdings, tool="cai score")
    with manifest.recording(summary, writer.rows, writer.rejects):
        for entry in plan.new_rejects:
            writer.reject(entry)
        writer.commit()
        if plan.todo:
            with loaded_engine(run.engine_factory, run.model_path, run.engine_args, model_label, progress) as engine:
                summary.engine_loaded(engine, time.perf_counter() - started)
                _score_all(job, loaded.constitution, engine, plan.todo, writer, progress, summary)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _parameters(job: ScoreJob, loaded: constitution.LoadedConstitution, model_label: str) -> dict[str, Any]:
    return {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": model_label,
        "principles": job.principles,
        "cot": job.cot,
        "clamp": list(job.clamp),
        "cot_max_tokens": job.cot_max_tokens,
        "rubric_max_tokens": job.rubric_max_tokens,
        "temperature": job.temperature,
        "seed": job.seed,
        "score_format": SCORE_FORMAT_VERSION,
        **({"mode": job.mode} if job.mode != "auto" else {}),  # absent in auto: earlier outputs still resume
    }


def _key(row: ScoreRow, run_key: str) -> str:
    payload = json.dumps([row.data, run_key], sort_keys=True, ensure_ascii=False)
    return fingerprint({"row": payload})[:24]


class _ScoreWriter:
    """Output rows (input row + scores), rejects, and the summary counts, committed per chunk.

    A chunk's rows are scored kind by kind, so they are buffered and written in input order on commit.
    """

    def __init__(
        self, paths: OutputPaths, loaded: constitution.LoadedConstitution, model_label: str, summary: ScoreSummary
    ):
        self.rows = JsonlWriter(paths.output, append=True)
        self.rejects = JsonlWriter(paths.rejects, append=paths.output is not None)
        self.stamp = {
            "model": model_label,
            "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        }
        self.summary = summary
        self.pending_rows: list[tuple[int, str, dict[str, Any]]] = []
        self.pending_rejects: list[Reject] = []

    def scored(self, item: Scored, scores: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        stamped = {"key": item.key, "kind": item.row.kind, **self.stamp, **scores}
        self.pending_rows.append((item.line, item.row.kind, {**item.row.data, **(extra or {}), "scores": stamped}))

    def reject(self, entry: Reject) -> None:
        self.pending_rejects.append(entry)

    def quarantine(self, item: Scored, reason: str, detail: str, raw: bytes | None = None) -> None:
        self.reject(Reject(item.line, reason, detail, truncate(raw if raw is not None else item.raw()), item.key))

    def commit(self) -> None:
        for _, kind, row in sorted(self.pending_rows, key=lambda pending: pending[0]):
            self.rows.write(row)
            self.summary.scored[kind] += 1
        for entry in sorted(self.pending_rejects, key=lambda pending: pending.line):
            self.rejects.write(entry.as_dict())
            self.summary.count(entry)
        self.pending_rows.clear()
        self.pending_rejects.clear()
        self.rows.commit()
        self.rejects.commit()


def _score_all(
    job: ScoreJob,
    rules: constitution.Constitution,
    engine: Engine,
    todo: Sequence[Scored],
    writer: _ScoreWriter,
    progress: Progress,
    summary: ScoreSummary,
) -> None:
    """Every row is a flow (cai.flows): up to --chunk-size rows in flight, written in input order."""

    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    settings = JudgeSettings(job.principles, job.cot, job.clamp, job.cot_max_tokens, job.temperature)
    scorers = RowScorers(
        PairwiseJudge(rules, settings, engine, on_stage),
        PointwiseScorer(rules, job.principles, job.rubric_max_tokens, engine, on_stage),
        on_stage,
    )
    progress.begin({kind: sum(i.row.kind == kind for i in todo) for kind in ("pointwise", "pairwise", "rank")})
    outcomes = (Outcome(item) for item in todo)
    flows = (((number, outcome), scorers.flow(outcome)) for number, outcome in enumerate(outcomes))
    for chunk in chunks(in_order(drive(engine, flows, window=job.chunk_size)), job.chunk_size):
        for outcome in chunk:
            _write(outcome, writer, summary)
        writer.commit()


def _write(outcome: Outcome, writer: _ScoreWriter, summary: ScoreSummary) -> None:
    for verdict in outcome.verdicts:
        summary.observe(verdict)
    if outcome.quarantine is not None:
        reason, detail, raw = outcome.quarantine
        summary.parse_failures += reason == "unparseable_score"
        writer.quarantine(outcome.item, reason, detail, raw)
        return
    assert outcome.scores is not None
    if outcome.item.row.kind == "pairwise" and outcome.item.row.labelled:
        summary.labelled += 1
        summary.agreements += outcome.scores["agrees_with_label"]
    writer.scored(outcome.item, outcome.scores, outcome.extra)
