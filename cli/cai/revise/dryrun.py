"""`cai revise --dry-run`: the run prepared as for real (read-only), then its passes counted."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cai import framing
from cai.engines.protocol import Message, TokenCounter
from cai.judge.pairwise import JudgeSettings, PairTask, pair_reads
from cai.revise.rounds import Record, sample_principles
from cai.revise.run import ReviseJob, RevisePrepared, prepare
from cai.runs.dryrun import DryRun, Pass, counted, planned
from cai.runs.harness import AS_DRY_RUN
from cai.runs.progress import Progress

Prompts = Iterator[tuple[Sequence[Message], bool]]


def plan_revise(job: ReviseJob, progress: Progress) -> DryRun:
    """What `cai revise` would do with these options; no engine is built and no file changes."""
    run = prepare(job, progress, AS_DRY_RUN)
    return planned(run, lambda counter: passes(run, counter))


def passes(run: RevisePrepared, counter: TokenCounter | None) -> list[Pass]:
    todo, settings = run.todo, run.settings
    initial = ((r.row.conversation(), True) for r in todo if r.row.response is None)
    result = [counted("initial", initial, counter)]
    if settings.critique:
        result.append(counted("critique", _rounds(run, todo, "critique"), counter))
    result.append(counted("revision", _rounds(run, todo, "revision"), counter))
    if run.job.judge is not None:
        result.append(_judge(run, todo, run.job.judge, counter))
    return result


def _rounds(run: RevisePrepared, todo: Sequence[Record], stage: str) -> Prompts:
    """Each round's prompt; a response or critique still to be generated counts as empty (a lower bound)."""
    rules, settings = run.loaded.constitution, run.settings
    prefix = (
        framing.critique_prefix(rules) if stage == "critique" else framing.revision_prefix(rules, settings.critique)
    )
    for record in todo:
        conversation = record.row.conversation()
        for number, principle in enumerate(sample_principles(rules, record.key, settings.rounds), start=1):
            given = record.row.response is not None and number == 1
            response = record.row.response.strip() if given and record.row.response else ""
            if stage == "critique":
                yield framing.critique_messages(prefix, conversation, response, principle), given
            else:
                critique = "" if settings.critique else None
                messages = framing.revision_messages(prefix, conversation, response, principle, critique)
                yield messages, given and critique is None


def _judge(run: RevisePrepared, todo: Sequence[Record], settings: JudgeSettings, counter: TokenCounter | None) -> Pass:
    """The verdict on (final, initial): both responses are generated, so counted as empty."""
    rules = run.loaded.constitution
    prompts = (
        (messages, False)
        for record in todo
        for messages in pair_reads(rules, settings, PairTask(record.key, record.row.conversation(), "", ""))
    )
    return counted("judge", prompts, counter)
