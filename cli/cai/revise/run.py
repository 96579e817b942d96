"""`cai revise` as one core function: the run harness (cai.runs.harness) specialised to SL-CAI records.

Everything that can be wrong with the input is found before the model loads. Each record is a flow
(cai.revise.rounds, then the judge with --judge) and its pair or reject is written in input order.
Nothing here prints: progress and notes go through the `Progress` the CLI layer supplies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from cai import constitution
from cai.engines.events import Report
from cai.engines.flows import drive
from cai.engines.protocol import Engine
from cai.io.keys import fingerprint, record_key
from cai.io.records import Reject
from cai.io.revised import OutputFormat, Provenance, key_of, row_maker
from cai.judge import FORMAT_VERSION as JUDGE_FORMAT
from cai.judge.pairwise import JudgeSettings, PairwiseJudge
from cai.options import option
from cai.revise.judged import JudgedRecord, destination, record_flow
from cai.revise.rounds import Record, ReviseRunner, ReviseSettings
from cai.runs import harness
from cai.runs.harness import AS_RUN, Context, Given, Prepared, prepared_facts, resumed
from cai.runs.progress import Progress
from cai.runs.prompted import PromptJob, generate_in_order, prompt_basis
from cai.runs.tally import GenerationTally, Tally

PROMPT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ReviseJob(PromptJob):
    """Everything `cai revise` was asked to do; None means 'the constitution's default'."""

    command: ClassVar[str] = "revise"
    rounds: int | None = option(None, min=1, max=16, help="Critique → revision rounds. Default: the constitution's.")
    critique: bool = option(True, "--critique/--no-critique", help="--no-critique revises directly, without critiques.")
    output_format: OutputFormat = option(
        "trl",
        "--format",
        help="Row shape: trl (prompt/chosen/rejected, for DPO), sft (messages ending in the final revision, "
        "for SFT) or hf-cai (Hugging Face's CAI dataset columns). docs/formats.md.",
    )
    judge: JudgeSettings | None = None  # --judge: label initial vs final of every pair (set by the command)
    min_margin: float | None = option(
        None, min=-1.0, max=1.0, help="With --judge: drop pairs whose margin P(final) − P(initial) is below this."
    )


@dataclass
class Summary(GenerationTally):
    """What `cai revise` did with every input row (see Tally), and how fast."""

    pairs_out: int = 0

    @property
    def rows_out(self) -> int:
        return self.pairs_out


@dataclass(frozen=True, kw_only=True)
class RevisePrepared(Prepared[Record]):
    """A validated revise run: the harness's facts, and revise's own."""

    job: ReviseJob
    settings: ReviseSettings


def run_revise(job: ReviseJob, progress: Progress) -> Summary:
    return harness.run(job.paths, lambda: prepare(job, progress), Summary(), _generate, progress)


def prepare(job: ReviseJob, progress: Progress, given: Given = AS_RUN) -> RevisePrepared:
    """Validate options, constitution and every input row; find what an earlier run already did.

    `given`: as a dry run, or with rows and an engine from the Python API (cai.runs.harness.Given).
    """
    basis = prompt_basis(job, progress, given)
    loaded, scanned, role = basis.loaded, basis.scanned, basis.role
    settings = _settings(job, loaded.constitution.defaults)
    parameters = _parameters(loaded, role.label, settings, job.judge, job.min_margin)
    run_key = fingerprint(parameters)  # without the format: a row's key names its content, not its shape
    parameters["format"] = job.output_format
    records = [Record(line, row, record_key(row.model_dump(mode="json"), run_key)) for line, row in scanned.rows]
    resume = resumed(job, basis, parameters, records, key_of, given)
    return RevisePrepared(**prepared_facts(job, basis, parameters, resume), job=job, settings=settings)


def _generate(context: Context[RevisePrepared, Summary]) -> None:
    run, summary, sink = context.prepared, context.summary, context.sink
    assert run.role is not None
    engine = context.engines.use(run.role)
    context.progress.begin(_totals(run.todo, run.settings, judged=run.job.judge is not None))

    def write(result: dict[str, Any] | Reject) -> None:
        if isinstance(result, Reject):
            sink.reject(result)
        else:
            sink.row(result)
            summary.pairs_out += 1

    generate_in_order(revised(run, engine, context.on_stage, summary), write, sink, run.job, summary)


def revised(
    run: RevisePrepared, engine: Engine, on_stage: Report, summary: Tally
) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    """Every record to do, each through its own flow on `engine`: its output row, or its reject entry,
    numbered in input order and yielded as it finishes."""
    job, loaded = run.job, run.loaded
    runner = ReviseRunner(loaded.constitution, run.settings, engine, on_stage)
    judge = PairwiseJudge(loaded.constitution, job.judge, engine, on_stage) if job.judge else None
    make_row = row_maker(job.output_format)
    mode = "critique" if run.settings.critique else "direct"
    provenance = Provenance(loaded.constitution.name, loaded.sha256, run.model_label, run.settings.seed, mode)
    # lazily: a record's state exists from its start until its row is written, not for the whole run
    records = (JudgedRecord(runner.start(record)) for record in run.todo)
    flows = (((number, record), record_flow(record, runner, judge, on_stage)) for number, record in enumerate(records))
    for number, record in drive(engine, flows, window=job.chunk_size):
        entry = destination(record, job.min_margin, summary)
        yield number, make_row(record.state.revised(), provenance) if entry is None else entry


def _parameters(
    loaded: constitution.LoadedConstitution,
    model_label: str,
    settings: ReviseSettings,
    judge: JudgeSettings | None,
    min_margin: float | None,
) -> dict[str, Any]:
    """What decides the rows' content; a resume must match these exactly."""
    return {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": model_label,
        **asdict(settings),
        "prompt_format": PROMPT_FORMAT_VERSION,
        **({"judge": asdict(judge), "min_margin": min_margin, "judge_format": JUDGE_FORMAT} if judge else {}),
    }


def _settings(job: ReviseJob, defaults: constitution.SamplingDefaults) -> ReviseSettings:
    max_tokens, temperature, top_p = job.sampling.resolved(defaults)
    return ReviseSettings(
        rounds=job.rounds if job.rounds is not None else defaults.rounds,
        critique=job.critique,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=job.sampling.seed,
    )


def _totals(records: Sequence[Record], settings: ReviseSettings, judged: bool) -> dict[str, int]:
    """Stage → records it will process in this run (the progress display's totals)."""
    totals = {"initial": sum(r.row.response is None for r in records)}
    if settings.critique:
        totals["critique"] = len(records) * settings.rounds
    totals["revision"] = len(records) * settings.rounds
    if judged:
        totals["judge"] = len(records)
    return totals
