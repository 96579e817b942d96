"""`cai score` as one core function: AI feedback on existing rows, with the judge's reliability.

Rows are read and validated like prompts for `cai revise` (quarantine, --max-bad-rows), keyed,
resumed and written through the same ledger, writers and manifest. Each chunk is scored with one
engine: rubric calls for pointwise rows, option-scoring calls for pairwise and ranked rows.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cai import constitution
from cai.engine import Engine, parse_engine_args
from cai.events import StageDone
from cai.judge import JudgeSettings, PairTask, PairVerdict, PairwiseJudge
from cai.ledger import Holdings, OutputPaths, prepare_resume, read_manifest
from cai.manifest import Manifest
from cai.output import JsonlWriter
from cai.pipeline import EngineFactory, Progress, build_engine
from cai.pointwise import PointTask, PointwiseScorer
from cai.preflight import check_bad_rows, check_paths, resolve_model
from cai.records import MAX_ROW_BYTES, Reject, fingerprint, scan_rows, split_duplicates, truncate
from cai.score_rows import ScoreRow, read_score_row

SCORE_FORMAT_VERSION = 1


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
    rejects: str | None = None
    overwrite: bool = False
    max_bad_rows: int = 10
    max_row_bytes: int = MAX_ROW_BYTES


@dataclass(frozen=True)
class Scored:
    """A validated input row with its key."""

    line: int
    row: ScoreRow
    key: str

    def raw(self) -> bytes:
        return json.dumps(self.row.data, ensure_ascii=False).encode()


@dataclass
class ScoreSummary:
    """What happened to every row, and how consistent the judge was while scoring them."""

    rows_in: int = 0
    already_done: int = 0
    scored: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    pair_judgements: int = 0
    position_consistent: int = 0
    abs_margin_total: float = 0.0
    parse_failures: int = 0
    labelled: int = 0
    agreements: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    load_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: str = "<stdout>"
    rejects: str = ""

    @property
    def rows_out(self) -> int:
        return sum(self.scored.values())

    @property
    def rejected(self) -> int:
        return sum(self.dropped.values()) + sum(self.quarantined.values())

    def count(self, entry: Reject) -> None:
        (self.dropped if entry.kind == "dropped" else self.quarantined)[entry.reason] += 1

    def add(self, event: StageDone) -> None:
        self.prompt_tokens += event.prompt_tokens
        self.output_tokens += event.output_tokens

    def observe(self, verdict: PairVerdict) -> None:
        self.pair_judgements += 1
        self.position_consistent += verdict.position_consistent
        self.abs_margin_total += abs(verdict.margin)

    def reliability(self) -> dict[str, Any]:
        """The figures that say how far to trust the judge's labels."""
        judged = self.pair_judgements
        return {
            "rows_scored": self.rows_out,
            "pair_judgements": judged,
            "position_consistency_rate": round(self.position_consistent / judged, 4) if judged else None,
            "mean_abs_margin": round(self.abs_margin_total / judged, 4) if judged else None,
            "parse_failures": self.parse_failures,
            "labelled_rows": self.labelled,
            "agreement_with_labels": round(self.agreements / self.labelled, 4) if self.labelled else None,
        }

    def as_dict(self) -> dict[str, Any]:
        plain = {k: dict(v) if isinstance(v, Counter) else v for k, v in vars(self).items()}
        return {**plain, "reliability": self.reliability()}


def run_score(job: ScoreJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> ScoreSummary:
    started = time.perf_counter()
    loaded = constitution.load(job.constitution)
    engine_args = parse_engine_args(job.engine_args)
    paths = OutputPaths.for_output(job.output, job.rejects, command="score")
    check_paths(job.rows, paths)
    scanned = scan_rows(job.rows, "jsonl", job.max_row_bytes, read_score_row)
    check_bad_rows(scanned, job.max_bad_rows)
    model_path, model_label = resolve_model(job.model, progress.note)
    parameters = _parameters(job, loaded, model_label)
    holdings = (
        prepare_resume(paths, parameters, job.overwrite, key_of=lambda row: row["scores"]["key"])
        if paths.output
        else Holdings.empty()
    )
    run_key = fingerprint(parameters)
    items, duplicates = split_duplicates([Scored(line, row, _key(row, run_key)) for line, row in scanned.rows])
    todo = [item for item in items if item.key not in holdings.done]
    new_rejects = [entry for entry in [*scanned.rejects, *duplicates] if entry.key not in holdings.done]
    summary = ScoreSummary(
        rows_in=scanned.lines,
        already_done=scanned.lines - len(todo) - len(new_rejects),
        output=str(paths.output or "<stdout>"),
        rejects=str(paths.rejects),
    )
    if summary.already_done:
        progress.note(f"resuming: {summary.already_done} of {summary.rows_in} rows are already done")
    manifest_path = paths.manifest
    if manifest_path and not todo and not new_rejects:
        existing = read_manifest(manifest_path)
        if existing is not None and existing.get("status") == "complete":
            return summary
    writer = _ScoreWriter(paths, job, loaded, model_label, summary)
    manifest = Manifest(paths, parameters, loaded, model_label, scanned.label, holdings, tool="cai score")
    try:
        for entry in new_rejects:
            writer.reject(entry)
        writer.commit()
        manifest.write("running", summary)
        if todo:
            progress.note(f"loading {model_label}")
            engine = engine_factory(model_path, engine_args, model_label)
            summary.load_seconds = time.perf_counter() - started
            try:
                _score_all(job, loaded.constitution, engine, todo, writer, progress, summary)
            finally:
                engine.close()
    except BaseException:
        writer.close()
        manifest.write("interrupted", summary)
        raise
    writer.close()
    manifest.write("complete", summary)
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
    }


def _key(row: ScoreRow, run_key: str) -> str:
    payload = json.dumps([row.data, run_key], sort_keys=True, ensure_ascii=False)
    return fingerprint({"row": payload})[:24]


class _ScoreWriter:
    """Output rows (input row + scores), rejects, and the summary counts, committed per chunk.

    A chunk's rows are scored kind by kind, so they are buffered and written in input order on commit.
    """

    def __init__(
        self,
        paths: OutputPaths,
        job: ScoreJob,
        loaded: constitution.LoadedConstitution,
        model_label: str,
        summary: ScoreSummary,
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

    def close(self) -> None:
        """Rows still pending belong to an unfinished chunk and are not written."""
        self.rows.close()
        self.rejects.close()


def _score_all(
    job: ScoreJob,
    rules: constitution.Constitution,
    engine: Engine,
    todo: Sequence[Scored],
    writer: _ScoreWriter,
    progress: Progress,
    summary: ScoreSummary,
) -> None:
    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    settings = JudgeSettings(job.principles, job.cot, job.clamp, job.cot_max_tokens, job.temperature)
    judge = PairwiseJudge(rules, settings, engine, on_stage)
    scorer = PointwiseScorer(rules, job.principles, job.rubric_max_tokens, engine, on_stage)
    progress.begin({kind: sum(i.row.kind == kind for i in todo) for kind in ("pointwise", "pairwise", "rank")})
    for start in range(0, len(todo), job.chunk_size):
        chunk = todo[start : start + job.chunk_size]
        _pointwise([i for i in chunk if i.row.kind == "pointwise"], scorer, writer, summary)
        _pairwise([i for i in chunk if i.row.kind == "pairwise"], judge, writer, summary)
        _ranked([i for i in chunk if i.row.kind == "rank"], judge, writer, summary)
        writer.commit()
        for kind in ("pointwise", "pairwise", "rank"):
            progress.advance(StageDone(kind, 0, sum(i.row.kind == kind for i in chunk), 0, 0, 0))


def _pointwise(items: list[Scored], scorer: PointwiseScorer, writer: _ScoreWriter, summary: ScoreSummary) -> None:
    tasks = [PointTask(i.key, i.row.conversation, i.row.responses[0]) for i in items]
    fitting = [(item, task) for item, task in zip(items, tasks, strict=True) if _fits(item, scorer.fits(task), writer)]
    verdicts = scorer.score([task for _, task in fitting])
    for (item, _), verdict in zip(fitting, verdicts, strict=True):
        if verdict.failure is not None:
            summary.parse_failures += 1
            writer.quarantine(item, "unparseable_score", verdict.failure, verdict.raw.encode())
        else:
            writer.scored(item, verdict.as_dict())


def _pairwise(items: list[Scored], judge: PairwiseJudge, writer: _ScoreWriter, summary: ScoreSummary) -> None:
    tasks = [PairTask(i.key, i.row.conversation, *i.row.responses) for i in items]
    fitting = [(item, task) for item, task in zip(items, tasks, strict=True) if _fits(item, judge.fits(task), writer)]
    verdicts = judge.judge([task for _, task in fitting])
    for (item, _), verdict in zip(fitting, verdicts, strict=True):
        summary.observe(verdict)
        scores = verdict.as_dict()
        if item.row.labelled:
            summary.labelled += 1
            summary.agreements += verdict.p_a > 0.5
            scores["agrees_with_label"] = verdict.p_a > 0.5
        writer.scored(item, scores)


def _ranked(items: list[Scored], judge: PairwiseJudge, writer: _ScoreWriter, summary: ScoreSummary) -> None:
    plans = []
    for item in items:
        responses = item.row.responses
        pairs = [(i, j) for i in range(len(responses)) for j in range(i + 1, len(responses))]
        tasks = [PairTask(f"{item.key}:{i}-{j}", item.row.conversation, responses[i], responses[j]) for i, j in pairs]
        if _fits(item, all(judge.fits(task) for task in tasks), writer):
            plans.append((item, pairs, tasks))
    verdicts = iter(judge.judge([task for _, _, tasks in plans for task in tasks]))
    for item, pairs, tasks in plans:
        mine = [next(verdicts) for _ in tasks]
        for verdict in mine:
            summary.observe(verdict)
        writer.scored(item, *_rank(item, pairs, mine))


def _rank(
    item: Scored, pairs: list[tuple[int, int]], verdicts: list[PairVerdict]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Win rate per response (mean P(beats each other)); best vs worst becomes chosen vs rejected."""
    count = len(item.row.responses)
    wins = [0.0] * count
    for (i, j), verdict in zip(pairs, verdicts, strict=True):
        wins[i] += verdict.p_a
        wins[j] += 1 - verdict.p_a
    rates = [w / (count - 1) for w in wins]
    best = max(range(count), key=lambda i: rates[i])
    worst = min((i for i in range(count) if i != best), key=lambda i: rates[i])
    scores = {
        "win_rate": [round(r, 6) for r in rates],
        "best": best,
        "worst": worst,
        "pairs": [{"a": i, "b": j, **v.as_dict()} for (i, j), v in zip(pairs, verdicts, strict=True)],
    }
    chosen, rejected = item.row.responses[best], item.row.responses[worst]
    if item.row.conversational:
        extra: dict[str, Any] = {
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
    else:
        extra = {"chosen": chosen, "rejected": rejected}
    return scores, extra


def _fits(item: Scored, fits: bool, writer: _ScoreWriter) -> bool:
    if not fits:
        writer.quarantine(item, "prompt_too_long", "the judge's prompt + max tokens exceed the model's max_model_len")
    return fits
