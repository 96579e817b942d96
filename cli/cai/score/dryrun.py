"""`cai score --dry-run`: the run prepared as for real (read-only), then each row's questions counted.

The questions are built as the scorers build them (the same principles, sampled by the row's key), so
a pointwise rubric prompt and a pairwise option read are counted exactly; with --cot the option read
follows reasoning still to be generated, so that pass is a lower bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cai.constitution import Constitution
from cai.engines import Message
from cai.io.keys import pair_key
from cai.io.score_rows import Scored
from cai.judge.pairwise import ANSWER_PREFIX, COT_ANSWER_PREFIX, JudgeSettings, judge_messages, option_request, question
from cai.judge.pairwise import sample_comparisons as judge_sample
from cai.judge.pointwise import PointwiseScorer, rubric_question
from cai.revise.run import Progress, build_engine
from cai.runs.dryrun import DryRun, TokenizerFactory, counted, counter_for
from cai.runs.preflight import EngineFactory
from cai.score.run import ScoreJob, prepare_score

Prompts = Iterator[tuple[Sequence[Message], bool]]


def plan_score(
    job: ScoreJob, progress: Progress, tokenizer: TokenizerFactory, engine_factory: EngineFactory = build_engine
) -> DryRun:
    """What `cai score` would do with these options; no engine is built and no file changes."""
    run = prepare_score(job, progress, engine_factory, dry_run=True)
    output = str(run.paths.output or "<stdout>")
    plan = DryRun.of("cai score", run.input_label, output, str(run.paths.rejects), run.plan)
    plan.bad_rows = run.bad_rows
    counter, plan.tokens = counter_for(job.servers, job.servers_file, run.model_path, tokenizer)
    rules = run.loaded.constitution
    settings = JudgeSettings(job.principles, job.cot, job.clamp, job.cot_max_tokens, job.temperature)
    todo = run.plan.todo
    plan.passes = [counted("rubric", _rubrics(rules, job.principles, todo), counter)]
    if job.cot:
        plan.passes.append(counted("reasoning", _pairs(rules, settings, todo, reasoning=True), counter))
    plan.passes.append(counted("judge", _pairs(rules, settings, todo, reasoning=False), counter))
    return plan


def judge_prompts(
    rules: Constitution, settings: JudgeSettings, key: str, conversation: Sequence[Message], a: str, b: str
) -> list[tuple[Message, ...]]:
    """The option reads of one pair, both orders, as PairwiseJudge asks them (before any top-k fallback)."""
    prefix = COT_ANSWER_PREFIX if settings.cot else ANSWER_PREFIX
    return [
        option_request(judge_messages(question(conversation, principle, first, second, settings.cot)), prefix).messages
        for first, second in ((a, b), (b, a))
        for principle in judge_sample(rules, key, settings.principles)
    ]


def _rubrics(rules: Constitution, principles: int, todo: Sequence[Scored]) -> Prompts:
    for item in todo:
        if item.row.kind == "pointwise":
            for principle in judge_sample(rules, item.key, principles):
                text = rubric_question(item.row.conversation, item.row.responses[0], principle)
                yield PointwiseScorer.messages(text), True


def _pairs(rules: Constitution, settings: JudgeSettings, todo: Sequence[Scored], reasoning: bool) -> Prompts:
    """Every pair a row compares (a ranked row: each pair of its responses, keyed as cai.score.flows keys it)."""
    for item in todo:
        responses = item.row.responses
        if item.row.kind == "pairwise":
            tasks = [(item.key, responses[0], responses[1])]
        elif item.row.kind == "rank":
            tasks = [
                (pair_key(item.key, i, j), responses[i], responses[j])
                for i in range(len(responses))
                for j in range(i + 1, len(responses))
            ]
        else:
            continue
        for key, a, b in tasks:
            for messages in judge_prompts(rules, settings, key, item.row.conversation, a, b):
                # with --cot the read follows reasoning (not yet generated); the reasoning request is the question
                yield (messages[:-1], True) if reasoning else (messages, not settings.cot)
