"""`cai eval` as one core function: validate everything, answer per side, judge every pair, compute the figures.

Everything that can be wrong with the inputs is found before a model loads. Every prompt ends in
exactly one place — an output row, the rejects file, or already there from an earlier run of the same
command (resume). Answers are cached beside the output, so a rerun after a crash regenerates nothing
it has; a finished output loads no model at all.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai import constitution
from cai.engines.args import parse_engine_args
from cai.engines.events import Report, StageDone
from cai.evaluation.answers import Answer, AnswerCache
from cai.evaluation.engines import EngineSlot
from cai.evaluation.inputs import Item
from cai.evaluation.phases import Judgement, JudgeRun, generate, judge_all
from cai.evaluation.plan import EvalJob, Prepared, Side, prepare
from cai.evaluation.stats import figures
from cai.io.output import JsonlWriter
from cai.revise.run import Progress, build_engine, note_resume
from cai.runs.manifest import Manifest
from cai.runs.preflight import EngineFactory
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


def run_eval(job: EvalJob, progress: Progress, engine_factory: EngineFactory = build_engine) -> EvalSummary:
    started = time.perf_counter()
    loaded = constitution.load(job.constitution)
    engine_args = parse_engine_args(job.engine_args)
    run = prepare(job, loaded, engine_args, progress, engine_factory)
    summary = EvalSummary(
        rows_in=run.plan.input_rows,
        already_done=run.plan.already_done,
        output=str(run.paths.output or "<stdout>"),
        rejects=str(run.paths.rejects),
        models={"a": run.a.label, "b": run.b.label, "judge": run.judge.label},
        warnings=run.warnings,
    )
    note_resume(run.plan, progress)
    written: list[dict[str, Any]] = []
    if not run.plan.nothing_to_do(run.paths):
        _execute(run, engine_args, progress, summary, written)
    summary.figures = figures(_all_rows(run, written))
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _execute(
    run: Prepared,
    engine_args: dict[str, str],
    progress: Progress,
    summary: EvalSummary,
    written: list[dict[str, Any]],
) -> None:
    rows = JsonlWriter(run.paths.output, append=True)
    rejects = JsonlWriter(run.paths.rejects, append=run.paths.output is not None)
    label = f"a={run.a.label} b={run.b.label} judge={run.judge.label}"
    manifest = Manifest(
        run.paths, run.parameters, run.loaded, label, run.input_label, run.plan.holdings, tool="cai eval"
    )
    cache = AnswerCache(run.answers_path)
    if cache.torn_lines:
        progress.note(f"removed a torn last line from {run.answers_path} left by an interrupted write")
    slot = EngineSlot(engine_args, progress, summary)

    def on_stage(event: StageDone) -> None:
        summary.add(event)
        progress.advance(event)

    def write(chunk: list[Judgement]) -> None:
        for judgement in chunk:
            if judgement.verdict is not None:
                summary.observe(judgement.verdict)
            if judgement.row is not None:
                rows.write(judgement.row)
                if run.paths.output is None:  # stdout: the figures have only this run's rows to go on
                    written.append(judgement.row)
                summary.judged += 1
            elif judgement.reject is not None:
                rejects.write(judgement.reject.as_dict())
                summary.count(judgement.reject)
        rows.commit()
        rejects.commit()

    with manifest.recording(summary, rows, rejects):
        try:
            for entry in run.new_rejects:
                rejects.write(entry.as_dict())
                summary.count(entry)
            rejects.commit()
            todo = run.todo
            if todo:
                _work(run, todo, cache, slot, progress, summary, on_stage, write)
        finally:
            cache.close()
            slot.close()
            summary.engine_loads = slot.loads


def _work(
    run: Prepared,
    todo: Sequence[Item],
    cache: AnswerCache,
    slot: EngineSlot,
    progress: Progress,
    summary: EvalSummary,
    on_stage: Report,
    write: Callable[[list[Judgement]], None],
) -> None:
    """Answer what is missing side by side (the judge's model last, so it stays loaded), then judge."""
    missing = {side.name: _missing(side, todo, cache) for side in (run.a, run.b)}
    keys_a = {key for _, key in missing["a"]}
    missing["b"] = [(item, key) for item, key in missing["b"] if key not in keys_a]  # identical sides share
    summary.reused = sum(side.file is None for side in (run.a, run.b)) * len(todo) - sum(map(len, missing.values()))
    progress.begin({"answer_a": len(missing["a"]), "answer_b": len(missing["b"]), "judge": len(todo)})
    order = sorted(
        (run.a, run.b),
        key=lambda side: side.role is not None and run.judge.role is not None and side.role.path == run.judge.role.path,
    )
    for side in order:
        if missing[side.name]:
            assert side.role is not None and side.sampling is not None
            engine = slot.use(side.role)
            stage = f"answer_{side.name}"
            generate(missing[side.name], side.sampling, engine, stage, cache, run.job.chunk_size, on_stage)
            summary.generated[side.name] += len(missing[side.name])
    work = [(item, _answer(run.a, item, cache), _answer(run.b, item, cache)) for item in todo]
    assert run.judge.role is not None
    engine = slot.use(run.judge.role)
    judge_run = JudgeRun(
        run.loaded.constitution, run.judge_settings, (run.a.info, run.b.info), run.stamp, run.job.tie_margin
    )
    judge_all(judge_run, work, engine, run.job.chunk_size, on_stage, write)


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


def _all_rows(run: Prepared, written: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The whole output's rows (earlier runs' too) when it is a file, read one at a time; this run's on stdout."""
    path = run.paths.output
    if path is None:
        yield from written
        return
    if not Path(path).exists():
        return
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
