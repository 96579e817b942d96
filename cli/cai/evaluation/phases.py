"""The two kinds of work of an eval, each as flows (cai.engines.flows) on one engine: answering and judging.

Answers are committed to the answer cache per chunk; judged rows are written in input order per
chunk, each prompt ending as one output row or one reject.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cai.constitution import Constitution
from cai.engines.events import Report, StageDone
from cai.engines.flows import Flow, drive
from cai.engines.protocol import Engine
from cai.evaluation.answers import Answer, AnswerCache, Sampling, answer_flow
from cai.evaluation.inputs import Item
from cai.evaluation.rows import SideInfo, eval_row
from cai.io.records import Reject, chunks
from cai.judge.pairwise import JudgeSettings, PairTask, PairVerdict, PairwiseJudge
from cai.runs.harness import Sink, commit_in_order


def generate(
    work: Sequence[tuple[Item, str]],
    sampling: Sampling,
    engine: Engine,
    stage: str,
    cache: AnswerCache,
    window: int,
    report: Report,
) -> None:
    """Answer every (prompt, answer key) on this engine; each chunk of answers is fsynced as it ends."""

    results: dict[int, Answer] = {}

    def run(number: int, item: Item, key: str) -> Flow:
        results[number] = yield from answer_flow(item, key, sampling, engine, stage, report)

    flows = ((number, run(number, item, key)) for number, (item, key) in enumerate(work))
    for chunk in chunks(drive(engine, flows, window=window), window):
        for number in chunk:
            cache.add(results.pop(number))
        cache.commit()


@dataclass
class Judgement:
    """How one prompt ended: an output row, or a reject; and the verdict for the judge's figures."""

    item: Item
    row: dict[str, Any] | None = None
    reject: Reject | None = None
    verdict: PairVerdict | None = None


@dataclass(frozen=True)
class JudgeRun:
    constitution: Constitution
    settings: JudgeSettings
    sides: tuple[SideInfo, SideInfo]
    stamp: dict[str, Any]
    tie_margin: float


def judge_all(
    run: JudgeRun,
    work: Sequence[tuple[Item, Answer, Answer]],
    engine: Engine,
    window: int,
    report: Report,
    write: Callable[[Judgement], None],
    sink: Sink,
) -> None:
    """Every pair judged (both orders, the principle ensemble); `write` gets each in input order."""
    judge = PairwiseJudge(run.constitution, run.settings, engine, report)

    def flow(judgement: Judgement, a: Answer, b: Answer) -> Flow:
        item = judgement.item
        failed = next(((side, x.failure) for side, x in (("a", a), ("b", b)) if x.failure is not None), None)
        if failed is not None:
            side, (reason, detail) = failed
            judgement.reject = item.reject(f"{reason}_{side}", f"side {side}: {detail}")
        else:
            task = PairTask(item.key, item.row.conversation(), a.text, b.text)
            if judge.fits(task):
                judgement.verdict = yield from judge.flow(task)
                judgement.row = eval_row(item, (a, b), run.sides, judgement.verdict, run.stamp, run.tie_margin)
            else:
                detail = "the judge's prompt exceeds the model's max_model_len"
                judgement.reject = item.reject("prompt_too_long", detail)
        report(StageDone("judge", 0, 1, 0, 0, 0))

    judgements = (Judgement(item) for item, _, _ in work)
    flows = (
        ((number, judgement), flow(judgement, a, b))
        for number, (judgement, (_, a, b)) in enumerate(zip(judgements, work, strict=True))
    )
    commit_in_order(drive(engine, flows, window=window), write, sink, window)
