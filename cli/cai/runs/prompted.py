"""What the commands that generate from prompts (revise, sample) share: their job's input, and reading it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from cai.io.records import PromptRow
from cai.io.sources import SourceOptions, read_prompts
from cai.options import argument, option
from cai.runs.harness import AS_RUN, Basis, Given, Sink, commit_in_order, read_basis
from cai.runs.options import ModelJob, SamplingOptions
from cai.runs.progress import Progress
from cai.runs.tally import GenerationTally

T = TypeVar("T")


@dataclass(frozen=True)
class PromptJob(ModelJob):
    """A job that generates from a prompt file: its rows, how they are read, and how generations are sampled."""

    prompts: str = argument(
        "Prompts: JSONL rows, hh-rlhf transcripts (JSONL), plain text (one prompt per line), CSV, Parquet, "
        "or a Hugging Face dataset folder (save_to_disk); - for stdin."
    )
    source: SourceOptions = field(default_factory=SourceOptions)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    chunk_size: int = option(64, min=1, help="Prompts in flight on the engine at once; output is flushed every N rows.")


def prompt_basis(job: PromptJob, progress: Progress, given: Given = AS_RUN) -> Basis[PromptRow]:
    """Constitution, output paths, every prompt row and the engine's role, checked before any model work."""
    read = lambda: read_prompts(job.prompts, job.source, job.limits.max_row_bytes)  # noqa: E731
    return read_basis(job, job.prompts, read, progress.note, given)


def generate_in_order(
    numbered: Iterable[tuple[int, T]], write: Callable[[T], None], sink: Sink, job: PromptJob, summary: GenerationTally
) -> None:
    """`commit_in_order` every `job.chunk_size` rows, its time kept as the summary's generation time."""
    started = time.perf_counter()
    try:
        commit_in_order(numbered, write, sink, job.chunk_size)
    finally:
        summary.generate_seconds = time.perf_counter() - started
