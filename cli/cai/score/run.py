"""`cai score` as one core function: the run harness (cai.runs.harness) specialised to judging rows.

Rows are read and validated like prompts for `cai revise` (quarantine, --max-bad-rows), keyed, resumed
and written through the same harness. One engine scores every row; each row is a flow of requests
(rubric calls for pointwise rows, option reads for pairwise and ranked rows) and up to --chunk-size rows
are in flight, so no chunk waits for its slowest row.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from cai import constitution
from cai.engines.events import Report
from cai.engines.flows import drive
from cai.engines.protocol import Engine
from cai.io.keys import fingerprint, record_key
from cai.io.records import Reject
from cai.io.scored import (
    MAX_RANKED,
    Mode,
    PairsMode,
    Scored,
    ScoreRow,
    key_of,
    pair_rows,
    read_score_row,
    scored_row,
    torn_group,
)
from cai.io.sources import read_rows, split_option
from cai.judge import FORMAT_VERSION as JUDGE_FORMAT
from cai.judge.pairwise import JudgeSettings, PairwiseJudge
from cai.judge.pointwise import PointwiseScorer
from cai.options import argument, option
from cai.runs import harness
from cai.runs.harness import AS_RUN, Context, Given, Prepared, commit_in_order, prepared_facts, read_basis, resumed
from cai.runs.options import ModelJob
from cai.runs.progress import Progress
from cai.runs.tally import Tally
from cai.score.flows import Outcome, RowScorers, selected_pairs


@dataclass(frozen=True)
class ScoreJob(ModelJob):
    """Everything `cai score` was asked to do; its fields are its options."""

    command: ClassVar[str] = "score"
    rows: str = argument("Rows to score: JSONL, CSV, Parquet or a Hugging Face dataset folder; - for stdin (JSONL).")
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    rubric_max_tokens: int = option(96, min=16, help="Pointwise: tokens for the JSON score.")
    seed: int = option(0, help="Seeds principle sampling and reasoning (with the row's key).")
    chunk_size: int = option(32, min=1, help="Rows in flight at once; output is flushed every N.")
    mode: Mode = option("auto", help="auto (each row's shape decides), or force pointwise, pairwise or ranked.")
    split: str | None = split_option()
    pairs: PairsMode = option(
        "best-worst",
        help="A ranked row (responses) becomes: best-worst (one row, chosen = best, rejected = worst), all (one row "
        "per judged pair) or adjacent (one row per pair next to each other in the ranking); each pair row has "
        "chosen = the side the judge prefers, its soft label p_a and margin.",
    )

    def row_reader(self, data: dict[str, Any]) -> ScoreRow:
        return read_score_row(data, self.mode)


@dataclass
class ScoreSummary(Tally):
    """What `cai score` did with every row (see Tally), and how consistent its judge was."""

    scored: Counter[str] = field(default_factory=Counter)
    parse_failures: int = 0
    labelled: int = 0
    agreements: int = 0
    pair_rows: int = 0  # --pairs all|adjacent: rows written for ranked rows, one per pair
    identical_pairs: int = 0  # pairs left out: both responses the same
    torn_group_rows: int = 0  # pair rows of a group a crash cut short, cut off before this run appended

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


@dataclass(frozen=True, kw_only=True)
class ScorePrepared(Prepared[Scored]):
    """A validated `cai score` run: the harness's facts, and score's own."""

    job: ScoreJob


def run_score(job: ScoreJob, progress: Progress) -> ScoreSummary:
    return harness.run(job.paths, lambda: prepare_score(job, progress), ScoreSummary(), _score_all, progress)


def prepare_score(job: ScoreJob, progress: Progress, given: Given = AS_RUN) -> ScorePrepared:
    """Validate options, constitution and every row; find what an earlier run did (a dry run changes no file).

    `given`: as a dry run, or with rows and an engine from the Python API (cai.runs.harness.Given).
    """
    read = lambda: read_rows(job.rows, job.row_reader, job.split, job.limits.max_row_bytes)  # noqa: E731
    basis = read_basis(job, job.rows, read, progress.note, given)
    loaded, paths, scanned, role = basis.loaded, basis.paths, basis.scanned, basis.role
    parameters = _parameters(job, loaded, role.label)
    run_key = fingerprint(parameters)  # without --pairs: a row's key (and so its judge's questions) names its content
    if job.pairs != "best-worst":  # not its shape; best-worst is absent, as score wrote before --pairs
        parameters["pairs"] = job.pairs
    items = [Scored(line, row, record_key(row.data, run_key, "wrapped")) for line, row in scanned.rows]
    resume = resumed(job, basis, parameters, items, key_of, given)
    if paths.output is not None and not given.dry_run and (cut := _cut_torn_group(paths.output)):
        progress.note(f"removed {cut} pair row(s) of a ranked row an interrupted run left unfinished (redone now)")
    resume = replace(resume, new_rejects=sorted(resume.new_rejects, key=lambda entry: entry.line))
    return ScorePrepared(**prepared_facts(job, basis, parameters, resume), job=job)


def _cut_torn_group(path: Path) -> int:
    """Cut off the pair rows of a ranked row that a crash left unfinished at the output's end (cai.io.scored)."""
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        tail = list(deque(handle, maxlen=MAX_RANKED * (MAX_RANKED - 1) // 2 + 1))
    cut = torn_group(tail)
    if cut:
        os.truncate(path, path.stat().st_size - sum(len(line) for line in tail[-cut:]))
    return cut


def _parameters(job: ScoreJob, loaded: constitution.LoadedConstitution, model_label: str) -> dict[str, Any]:
    judge = job.judge
    return {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": model_label,
        "principles": judge.principles,
        "cot": judge.cot,
        "clamp": list(judge.clamp),
        "cot_max_tokens": judge.cot_max_tokens,
        "rubric_max_tokens": job.rubric_max_tokens,
        "temperature": judge.temperature,
        "seed": job.seed,
        "score_format": JUDGE_FORMAT,  # score names its judge's format so since its first version
        **({"mode": job.mode} if job.mode != "auto" else {}),  # absent in auto: earlier outputs still resume
    }


def _score_all(context: Context[ScorePrepared, ScoreSummary]) -> None:
    """Every row's scores, or its reject, written in input order."""
    run, summary, sink = context.prepared, context.summary, context.sink
    assert run.role is not None
    engine = context.engines.use(run.role)
    kinds = ("pointwise", "pairwise", "rank")
    context.progress.begin({kind: sum(item.row.kind == kind for item in run.todo) for kind in kinds})

    def write(result: dict[str, Any] | list[dict[str, Any]] | Reject) -> None:
        if isinstance(result, Reject):
            sink.reject(result)
        elif isinstance(result, list):
            sink.group(result)
            summary.scored["rank"] += 1
            summary.pair_rows += len(result)
        else:
            sink.row(result)
            summary.scored[result["scores"]["kind"]] += 1

    commit_in_order(scored(run, engine, context.on_stage, summary), write, sink, run.job.chunk_size)


def scored(
    run: ScorePrepared, engine: Engine, on_stage: Report, summary: ScoreSummary
) -> Iterator[tuple[int, dict[str, Any] | list[dict[str, Any]] | Reject]]:
    """Every row to do, each a flow on `engine` (cai.engines.flows): its output row or its reject entry,
    numbered in input order and yielded as it finishes; the judge's figures are counted into `summary`."""
    rules, job = run.loaded.constitution, run.job
    scorers = RowScorers(
        PairwiseJudge(rules, job.judge, engine, on_stage),
        PointwiseScorer(rules, job.judge.principles, job.rubric_max_tokens, engine, on_stage),
        on_stage,
    )
    stamp = {"model": run.model_label, "constitution": {"name": rules.name, "sha256": run.loaded.sha256}}
    outcomes = (Outcome(item) for item in run.todo)
    flows = (((number, outcome), scorers.flow(outcome)) for number, outcome in enumerate(outcomes))
    for number, outcome in drive(engine, flows, window=job.chunk_size):
        yield number, _finished(outcome, stamp, summary, job.pairs)


def _finished(
    outcome: Outcome, stamp: dict[str, Any], summary: ScoreSummary, pairs: PairsMode
) -> dict[str, Any] | list[dict[str, Any]] | Reject:
    for verdict in outcome.verdicts:
        summary.observe(verdict)
    item = outcome.item
    if outcome.quarantine is not None:
        reason, detail, raw = outcome.quarantine
        summary.parse_failures += reason == "unparseable_score"
        entry = item.reject(reason, detail)
        return entry if raw is None else entry.with_raw(raw)
    assert outcome.scores is not None
    if item.row.kind == "pairwise" and item.row.labelled:
        summary.labelled += 1
        summary.agreements += outcome.scores["agrees_with_label"]
    if item.row.kind == "rank" and pairs != "best-worst":
        return _pair_rows(item, stamp, outcome.scores, pairs, summary)
    return scored_row(item, stamp, outcome.scores, outcome.extra)


def _pair_rows(
    item: Scored, stamp: dict[str, Any], scores: dict[str, Any], pairs: PairsMode, summary: ScoreSummary
) -> list[dict[str, Any]] | Reject:
    """A ranked row's judged pairs as rows (--pairs all|adjacent); with none left, a drop entry (so it resumes)."""
    selected, identical = selected_pairs(pairs, scores, item.row.responses)
    summary.identical_pairs += identical
    if not selected:
        return item.reject("identical_candidates", "every pair's two responses are the same", kind="dropped")
    return pair_rows(item, stamp, scores["win_rate"], selected, pairs)
