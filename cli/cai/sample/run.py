"""`cai sample` as one core function: the run harness (cai.runs.harness) specialised to RL-CAI candidates.

Everything that can be wrong with the input is found before the model loads. Each prompt is a flow
(cai.sample.flows) whose N candidate requests go out together; its row (cai.io.sampled) or its reject is
written in input order. A prompt whose candidates are all the same is dropped (`identical_candidates`):
no pair of it teaches anything. Nothing here prints: progress goes through the `Progress` the CLI supplies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from cai.engines.events import Report
from cai.engines.flows import drive
from cai.engines.protocol import Engine
from cai.io.keys import fingerprint, record_key
from cai.io.records import PromptRow, Reject
from cai.io.sampled import SampleStamp, key_of, sampled_row
from cai.io.scored import MAX_RANKED
from cai.options import option
from cai.runs import harness
from cai.runs.harness import AS_RUN, Context, Given, Prepared, prepared_facts, resumed
from cai.runs.progress import Progress
from cai.runs.prompted import PromptJob, generate_in_order, prompt_basis
from cai.runs.tally import GenerationTally
from cai.sample.flows import CandidateSampler, Prompt, SampleSettings, Sampling, framing_message, identical_to

SAMPLE_FORMAT_VERSION = 1  # the request and row layout; part of every key
Framing = Literal["none", "constitution"]


@dataclass(frozen=True)
class SampleJob(PromptJob):
    """Everything `cai sample` was asked to do; None means 'the constitution's default'."""

    command: ClassVar[str] = "sample"
    n: int = option(
        4, "-n", "--candidates", min=2, max=MAX_RANKED, help="Candidates per prompt (what cai score ranks)."
    )
    framing: Framing = option(
        "none",
        help="none (the conversation as given, as the paper samples), or constitution: a system turn built from "
        "the constitution's description and comparison questions (docs/sample.md). Rows keep the plain prompt.",
    )


@dataclass
class SampleSummary(GenerationTally):
    """What `cai sample` did with every input row (see Tally), and how fast."""

    rows_written: int = 0
    candidates: int = 0
    rows_with_identical: int = 0  # rows written with at least two candidates the same

    @property
    def rows_out(self) -> int:
        return self.rows_written


@dataclass(frozen=True, kw_only=True)
class SamplePrepared(Prepared[Prompt]):
    """A validated sample run: the harness's facts, and sample's own."""

    job: SampleJob
    settings: SampleSettings


def run_sample(job: SampleJob, progress: Progress) -> SampleSummary:
    return harness.run(job.paths, lambda: prepare(job, progress), SampleSummary(), _generate, progress)


def prepare(job: SampleJob, progress: Progress, given: Given = AS_RUN) -> SamplePrepared:
    """Validate options, constitution and every input row; find what an earlier run already did.

    `given`: as a dry run, or with rows and an engine from the Python API (cai.runs.harness.Given).
    """
    basis = prompt_basis(job, progress, given)
    loaded, scanned, role = basis.loaded, basis.scanned, basis.role
    max_tokens, temperature, top_p = job.sampling.resolved(loaded.constitution.defaults)
    settings = SampleSettings(job.n, max_tokens, temperature, top_p, job.sampling.seed, job.framing)
    parameters = {
        "constitution": {"name": loaded.constitution.name, "sha256": loaded.sha256},
        "model": role.label,
        **asdict(settings),
        "sample_format": SAMPLE_FORMAT_VERSION,
    }
    run_key = fingerprint(parameters)
    answered = sum(row.response is not None for _, row in scanned.rows)
    if answered:
        progress.note(f"{answered} row(s) carry a 'response': cai sample ignores it and samples all {job.n} candidates")
    prompts = [Prompt(line, row, record_key(_keyed(row), run_key)) for line, row in scanned.rows]
    resume = resumed(job, basis, parameters, prompts, key_of, given)
    return SamplePrepared(**prepared_facts(job, basis, parameters, resume), job=job, settings=settings)


def _keyed(row: PromptRow) -> dict[str, Any]:
    """What names a prompt: the row without a `response` (sample never reads it)."""
    return {name: value for name, value in row.model_dump(mode="json").items() if name != "response"}


def _generate(context: Context[SamplePrepared, SampleSummary]) -> None:
    run, summary, sink = context.prepared, context.summary, context.sink
    assert run.role is not None
    engine = context.engines.use(run.role)
    context.progress.begin({"candidates": len(run.todo)})

    def write(result: dict[str, Any] | Reject) -> None:
        if isinstance(result, Reject):
            sink.reject(result)
        else:
            sink.row(result)
            summary.rows_written += 1
            summary.candidates += len(result["responses"])
            summary.rows_with_identical += result["cai"]["distinct"] < len(result["responses"])

    generate_in_order(sampled(run, engine, context.on_stage), write, sink, run.job, summary)


def sampled(run: SamplePrepared, engine: Engine, on_stage: Report) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    """Every prompt to do, each through its own flow on `engine`: its output row, or its reject entry,
    numbered in input order and yielded as it finishes."""
    loaded, settings = run.loaded, run.settings
    system = framing_message(loaded.constitution) if settings.framing == "constitution" else None
    sampler = CandidateSampler(settings, system, engine, on_stage)
    stamp = SampleStamp(
        run.model_label,
        loaded.constitution.name,
        loaded.sha256,
        settings.framing,
        {key: value for key, value in asdict(settings).items() if key not in ("framing", "empty_retries")},
    )
    states = (Sampling(prompt) for prompt in run.todo)
    flows = (((number, state), sampler.flow(state)) for number, state in enumerate(states))
    for number, state in drive(engine, flows, window=run.job.chunk_size):
        yield number, _finished(state, stamp)


def _finished(state: Sampling, stamp: SampleStamp) -> dict[str, Any] | Reject:
    prompt = state.prompt
    if state.quarantine is not None:
        return prompt.reject(*state.quarantine)
    same = identical_to([candidate.text for candidate in state.candidates])
    row = sampled_row(prompt.key, prompt.line, prompt.row.id, prompt.row.conversation(), state.candidates, same, stamp)
    if row["cai"]["distinct"] == 1:
        detail = f"all {len(state.candidates)} candidates are the same after normalisation"
        return prompt.reject("identical_candidates", detail, kind="dropped")
    return row
