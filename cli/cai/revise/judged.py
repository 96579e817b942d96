"""`cai revise --judge`: the verdict on (final, initial) as the last stage of each record's flow.

Judging in the record's own flow means no record waits for a chunk to finish its revisions, and the
judge's questions ride the same window of records in flight as the rounds before them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cai.engines.events import Report, StageDone
from cai.engines.flows import Flow
from cai.io.records import Reject
from cai.judge.pairwise import PairTask, PairVerdict, PairwiseJudge
from cai.revise.rounds import ReviseRunner, Revision
from cai.runs.tally import Tally


@dataclass
class JudgedRecord:
    """A record's state in flight, and the judge's verdict on its pair (with --judge)."""

    state: Revision
    verdict: PairVerdict | None = None


def record_flow(record: JudgedRecord, runner: ReviseRunner, judge: PairwiseJudge | None, report: Report) -> Flow:
    """The record's rounds, then (with --judge) the verdict on (final, initial) in the same flow: no barrier."""
    yield from runner.flow(record.state)
    if judge is None:
        return
    state = record.state
    if state.reject() is None:
        task = PairTask(state.record.key, state.record.row.conversation(), state.current, state.initial)
        if judge.fits(task):
            record.verdict = yield from judge.flow(task)
            state.judge = record.verdict.as_dict()
        else:
            state.quarantine = ("prompt_too_long", "judge: the comparison prompt exceeds max_model_len")
    report(StageDone("judge", 0, 1, 0, 0, 0))


def destination(record: JudgedRecord, min_margin: float | None, summary: Tally) -> Reject | None:
    """Where the record goes: None for a pair; a reject entry, or a drop below --min-margin."""
    entry = record.state.reject()
    verdict = record.verdict
    if entry is not None or verdict is None:
        return entry
    summary.observe(verdict)
    if min_margin is None or verdict.margin >= min_margin:
        return None
    detail = f"the judge's margin for the revision is {verdict.margin:.3f} < --min-margin {min_margin}"
    return record.state.record.reject("judge_margin", detail, kind="dropped")
