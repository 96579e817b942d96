"""`cai eval` as one core function: the run harness specialised to answer per side, judge, and compute the figures.

Everything that can be wrong with the inputs is found before a model loads. Every prompt ends in
exactly one place — an output row, the rejects file, or already there from an earlier run of the same
command (resume). Answers are cached beside the output, so a rerun after a crash regenerates nothing
it has; a finished output loads no model at all.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai import constitution
from cai.evaluation.answers import Answer, AnswerCache
from cai.evaluation.inputs import Item
from cai.evaluation.phases import Judgement, JudgeRun, generate, judge_all
from cai.evaluation.prepare import EvalJob, EvalPrepared, Side, prepare
from cai.evaluation.stats import figures
from cai.runs import harness
from cai.runs.harness import Context
from cai.runs.progress import Progress
from cai.runs.tally import Tally

__all__ = ["EvalJob", "EvalSummary", "run_eval"]


@dataclass
class EvalSummary(Tally):
    """What `cai eval` did with every prompt (see Tally), the answers it made, and the eval's figures."""

    judged: int = 0
    generated: Counter[str] = field(default_factory=Counter)  # answers generated this run, per side
    reused: int = 0  # answers found in the cache (an earlier run, or the other side's identical settings)
    engine_loads: int = 0
    models: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_out(self) -> int:
        return self.judged

    def as_dict(self) -> dict[str, Any]:
        """The run's counts (the manifest's `this_run`); the figures cover the whole output and go apart."""
        counts = super().as_dict()
        counts.pop("figures")
        return counts


def run_eval(job: EvalJob, progress: Progress) -> EvalSummary:
    loaded = constitution.load(job.constitution)
    summary = EvalSummary()
    written: list[dict[str, Any]] = []  # on stdout, the figures have only this run's rows to go on
    prepared: list[EvalPrepared] = []

    def prepare_run() -> EvalPrepared:
        run = prepare(job, loaded, progress)
        summary.models = {"a": run.a.label, "b": run.b.label, "judge": run.judge.label}
        summary.warnings = run.warnings
        prepared.append(run)
        return run

    harness.run(job.paths, prepare_run, summary, lambda context: _work(context, written), progress)
    summary.figures = figures(_all_rows(prepared[0], written))
    return summary


def _work(context: Context[EvalPrepared, EvalSummary], written: list[dict[str, Any]]) -> None:
    """Answer what is missing side by side (the judge's model last, so it stays loaded), then judge."""
    run, summary, todo = context.prepared, context.summary, context.prepared.todo
    cache = AnswerCache(run.answers_path)
    if cache.torn_lines:
        context.progress.note(f"removed a torn last line from {run.answers_path} left by an interrupted write")
    try:
        missing = {side.name: _missing(side, todo, cache) for side in (run.a, run.b)}
        keys_a = {key for _, key in missing["a"]}
        missing["b"] = [(item, key) for item, key in missing["b"] if key not in keys_a]  # identical sides share
        given = sum(side.file is None for side in (run.a, run.b)) * len(todo)
        summary.reused = given - sum(map(len, missing.values()))
        context.progress.begin({"answer_a": len(missing["a"]), "answer_b": len(missing["b"]), "judge": len(todo)})
        judge_path = run.judge.role.path if run.judge.role is not None else None
        for side in sorted((run.a, run.b), key=lambda side: side.role is not None and side.role.path == judge_path):
            if missing[side.name]:
                assert side.role is not None and side.sampling is not None
                engine = context.engines.use(side.role)
                stage = f"answer_{side.name}"
                generate(
                    missing[side.name],
                    side.sampling,
                    engine,
                    stage,
                    cache,
                    run.job.judging.chunk_size,
                    context.on_stage,
                )
                summary.generated[side.name] += len(missing[side.name])
        _judge(context, cache, written)
    finally:
        cache.close()
        summary.engine_loads = context.engines.loads


def _judge(context: Context[EvalPrepared, EvalSummary], cache: AnswerCache, written: list[dict[str, Any]]) -> None:
    run, summary = context.prepared, context.summary
    work = [(item, _answer(run.a, item, cache), _answer(run.b, item, cache)) for item in run.todo]
    assert run.judge.role is not None
    engine = context.engines.use(run.judge.role)
    judge_run = JudgeRun(
        run.loaded.constitution, run.judge_settings, (run.a.info, run.b.info), run.stamp, run.job.judging.tie_margin
    )

    def write(judgement: Judgement) -> None:
        if judgement.verdict is not None:
            summary.observe(judgement.verdict)
        if judgement.row is not None:
            context.sink.row(judgement.row)
            if run.paths.output is None:
                written.append(judgement.row)
            summary.judged += 1
        elif judgement.reject is not None:
            context.sink.reject(judgement.reject)

    judge_all(judge_run, work, engine, run.job.judging.chunk_size, context.on_stage, write, context.sink)


def _missing(side: Side, todo: Sequence[Item], cache: AnswerCache) -> list[tuple[Item, str]]:
    if side.file is not None:
        return []
    seen: set[str] = set()
    missing = []
    for item in todo:
        key = side.key(item)
        if cache.get(key) is None and key not in seen:
            seen.add(key)
            missing.append((item, key))
    return missing


def _answer(side: Side, item: Item, cache: AnswerCache) -> Answer:
    if side.file is not None:
        assert item.row.ident is not None
        return Answer(f"file:{item.row.ident}", side.file.answers[item.row.ident], "given", source="file")
    found = cache.get(side.key(item))
    assert found is not None
    return found


def _all_rows(run: EvalPrepared | None, written: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The whole output's rows (earlier runs' too) when it is a file, read one at a time; this run's on stdout."""
    path = run.paths.output if run is not None else None
    if path is None:
        yield from written
        return
    if not Path(path).exists():
        return
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
