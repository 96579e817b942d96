"""One prompt's N candidates as a flow (cai.engines.flows): N requests sent together, so they share its prefix.

Each candidate is its own request with its own seed, `derived_seed(key, "candidate-i")`: the same prompt
and settings sample the same candidates whatever else is in the batch, on a resume too, in-process or on
servers. The N requests of a prompt go out in one `Parallel`, in the same engine step, so vLLM computes
the prompt once and serves it to the others from its prefix cache (what one request with n=N would do;
BENCHMARKS.md, "Sampling candidates", measures both). An empty candidate is asked again with a new seed
(`candidate-i#1`, ...); still empty, the prompt is quarantined.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cai.constitution import Constitution
from cai.engines import events
from cai.engines.events import Report
from cai.engines.flows import Flow, Parallel
from cai.engines.protocol import Engine, Message, Request
from cai.framing import normalise
from cai.io.keys import derived_seed
from cai.io.records import Item, PromptRow
from cai.io.sampled import Candidate

Prompt = Item[PromptRow]


@dataclass(frozen=True)
class SampleSettings:
    """What decides the candidates: recorded in the manifest, and part of every row's key."""

    n: int
    max_tokens: int
    temperature: float
    top_p: float
    seed: int
    framing: str  # "none", or "constitution": a system turn built from the constitution (framing_message)
    empty_retries: int = 2


@dataclass
class Sampling:
    """One prompt's way through its flow: its candidates, or why it is quarantined."""

    prompt: Prompt
    candidates: list[Candidate] = field(default_factory=list)
    quarantine: tuple[str, str] | None = None


def framing_message(constitution: Constitution) -> Message:
    """--framing constitution: the constitution as the system turn the candidates are sampled under.

    Its description, then each principle's comparison question, the one the judge will ask of the
    candidates: the model is told what a preferred response is (context distillation in the spirit of
    the HHH prompt). The written row keeps the user's conversation without it.
    """
    questions = "\n".join(f"- {principle.comparison}" for principle in constitution.principles)
    text = (
        f"{constitution.description}\n\nAnswer so that your response would be preferred under each of these "
        f"questions:\n{questions}"
    )
    return {"role": "system", "content": text}


def framed(conversation: Sequence[Message], system: Message | None) -> tuple[Message, ...]:
    """The conversation the model continues: the framing turn first (merged into a system turn it already has)."""
    if system is None:
        return tuple(conversation)
    if conversation and conversation[0]["role"] == "system":
        merged = {"role": "system", "content": f"{system['content']}\n\n{conversation[0]['content']}"}
        return (merged, *conversation[1:])
    return (system, *conversation)


def identical_to(texts: Sequence[str]) -> list[int | None]:
    """For each text, the index of the first earlier text equal to it once normalised, else None."""
    first: dict[str, int] = {}
    found: list[int | None] = []
    for index, text in enumerate(texts):
        form = normalise(text)
        found.append(first.get(form))
        first.setdefault(form, index)
    return found


class CandidateSampler:
    """Each prompt's candidates as one flow; progress is reported as stage "candidates", one record per prompt."""

    def __init__(self, settings: SampleSettings, system: Message | None, engine: Engine, report: Report):
        self.settings = settings
        self.system = system
        self.engine = engine  # for prompt lengths only: generation goes through the flows' driver
        self.report = report

    def messages(self, prompt: Prompt) -> tuple[Message, ...]:
        return framed(prompt.row.conversation(), self.system)

    def flow(self, state: Sampling) -> Flow:
        """The N candidates side by side; a prompt too long for the model is quarantined before any request."""
        messages = self.messages(state.prompt)
        needed = self.engine.prompt_tokens(messages) + self.settings.max_tokens
        if needed > self.engine.max_model_len:
            limit = self.engine.max_model_len
            state.quarantine = ("prompt_too_long", f"prompt + max_tokens = {needed} tokens > max_model_len {limit}")
            self.report(events.skipped("candidates", 0))
            return
        asks = [self._candidate(state.prompt.key, messages, index) for index in range(self.settings.n)]
        found: list[Candidate | None] = yield Parallel(asks)
        self.report(events.StageDone("candidates", 0, 1, 0, 0, 0))
        empty = [index for index, candidate in enumerate(found) if candidate is None]
        if empty:
            attempts = self.settings.empty_retries + 1
            state.quarantine = ("empty_generation", f"candidate {empty[0]}: empty after {attempts} attempts")
        else:
            state.candidates = [candidate for candidate in found if candidate is not None]

    def _candidate(
        self, key: str, messages: tuple[Message, ...], index: int
    ) -> Generator[Request, Any, Candidate | None]:
        s = self.settings
        for attempt in range(s.empty_retries + 1):
            seed = derived_seed(key, f"candidate-{index}" if attempt == 0 else f"candidate-{index}#{attempt}")
            output = yield Request(messages, s.max_tokens, s.temperature, s.top_p, seed=seed)
            self.report(events.done("candidates", 0, output, records=0))
            text = output.text.strip()
            if text:
                return Candidate(text, output.finish_reason, output.output_tokens, seed)
        return None
