"""`cai score --dry-run`: the run prepared as for real (read-only), then each row's questions counted.

The questions are the ones the scorers ask (cai.judge: the same principles, sampled by the row's key),
so a pointwise rubric prompt and a pairwise option read are counted exactly; with --cot the option read
follows reasoning still to be generated, so that pass is a lower bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cai.constitution import Constitution
from cai.engines.protocol import Message, TokenCounter
from cai.io.keys import pair_key
from cai.io.scored import Scored
from cai.judge.pairwise import JudgeSettings, PairTask, pair_reads, sample_comparisons
from cai.judge.pointwise import PointwiseScorer, rubric_question
from cai.runs.dryrun import DryRun, Pass, counted, planned
from cai.runs.harness import AS_DRY_RUN
from cai.runs.progress import Progress
from cai.score.run import ScoreJob, prepare_score

Prompts = Iterator[tuple[Sequence[Message], bool]]


def plan_score(job: ScoreJob, progress: Progress) -> DryRun:
    """What `cai score` would do with these options; no engine is built and no file changes."""
    run = prepare_score(job, progress, AS_DRY_RUN)
    rules, settings, todo = run.loaded.constitution, job.judge, run.todo

    def passes(counter: TokenCounter | None) -> list[Pass]:
        counted_passes = [counted("rubric", _rubrics(rules, settings.principles, todo), counter)]
        if settings.cot:
            counted_passes.append(counted("reasoning", _pairs(rules, settings, todo, reasoning=True), counter))
        return [*counted_passes, counted("judge", _pairs(rules, settings, todo, reasoning=False), counter)]

    return planned(run, passes)


def _rubrics(rules: Constitution, principles: int, todo: Sequence[Scored]) -> Prompts:
    for item in todo:
        if item.row.kind == "pointwise":
            for principle in sample_comparisons(rules, item.key, principles):
                text = rubric_question(item.row.conversation, item.row.responses[0], principle)
                yield PointwiseScorer.messages(text), True


def _pairs(rules: Constitution, settings: JudgeSettings, todo: Sequence[Scored], reasoning: bool) -> Prompts:
    """Every pair a row compares (a ranked row: each pair of its responses, keyed by cai.io.keys.pair_key)."""
    for item in todo:
        responses = item.row.responses
        if item.row.kind == "pairwise":
            tasks = [PairTask(item.key, item.row.conversation, responses[0], responses[1])]
        elif item.row.kind == "rank":
            tasks = [
                PairTask(pair_key(item.key, i, j), item.row.conversation, responses[i], responses[j])
                for i in range(len(responses))
                for j in range(i + 1, len(responses))
            ]
        else:
            continue
        for task in tasks:
            for messages in pair_reads(rules, settings, task):
                # with --cot the read follows reasoning (not yet generated); the reasoning request is the question
                yield (messages[:-1], True) if reasoning else (messages, not settings.cot)
