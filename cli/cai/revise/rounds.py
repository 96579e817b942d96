"""The SL-CAI revise pass: initial response, then N critique → revision rounds per record.

Each record goes through its stages as a flow of its own (cai.engines.flows drives many at once on one
engine). Principles are sampled per record from a generator seeded by the record key, so a rerun
(or a resume) samples the same principles.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cai import framing
from cai.constitution import Constitution, Principle
from cai.engines import events
from cai.engines.events import Report
from cai.engines.flows import Flow
from cai.engines.protocol import Engine, Generation, Message, Request
from cai.framing import normalise
from cai.io.keys import derived_seed
from cai.io.records import Item, PromptRow, Reject
from cai.io.revised import Revised


@dataclass(frozen=True)
class ReviseSettings:
    rounds: int
    critique: bool
    max_tokens: int
    temperature: float
    top_p: float
    seed: int
    empty_retries: int = 2


@dataclass
class Round:
    principle: str
    critique: str | None
    revision: str
    finish_reason: str
    critique_finish_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "principle": self.principle,
            "critique": self.critique,
            "revision": self.revision,
            "finish_reason": self.finish_reason,
        }
        if self.critique_finish_reason is not None:
            row["critique_finish_reason"] = self.critique_finish_reason
        return row


Record = Item[PromptRow]


@dataclass
class Revision:
    """One record's way through the pass; `current` is the response the next round works on."""

    record: Record
    principles: list[Principle]
    initial: str = ""
    initial_source: str = "generated"
    initial_finish_reason: str = "given"
    rounds: list[Round] = field(default_factory=list)
    quarantine: tuple[str, str] | None = None  # (reason, detail) when the record cannot be finished
    judge: dict[str, Any] | None = None  # the pairwise verdict on (final, initial) with --judge

    @property
    def current(self) -> str:
        revised = [r.revision for r in self.rounds if r.revision]
        return revised[-1] if revised else self.initial

    def reject(self) -> Reject | None:
        """The quarantine or drop entry for a record that does not become a pair, else None."""
        if self.quarantine is not None:
            return self.record.reject(*self.quarantine)
        if normalise(self.current) == normalise(self.initial):
            detail = "the final revision equals the initial response after normalisation"
            return self.record.reject("unchanged", detail, kind="dropped")
        return None

    def revised(self) -> Revised:
        """The finished record, as its output rows need it."""
        row, last = self.record.row, self.principles[len(self.rounds) - 1]
        return Revised(
            key=self.record.key,
            id=None if row.id is None else str(row.id),
            line=self.record.line,
            conversation=row.conversation(),
            initial=self.initial,
            initial_source=self.initial_source,
            initial_finish_reason=self.initial_finish_reason,
            final=self.current,
            rounds=tuple(r.as_dict() for r in self.rounds),
            last_requests=(last.critique_request, last.revision_request),
            judge=self.judge,
        )


def sample_principles(constitution: Constitution, key: str, rounds: int) -> list[Principle]:
    """Weighted sampling with replacement, seeded by the record key alone (which includes the seed)."""
    rng = random.Random(int(key, 16))
    weights = [p.weight for p in constitution.principles]
    return rng.choices(list(constitution.principles), weights=weights, k=rounds)


class ReviseRunner:
    """Each record's stages as one flow (see cai.engines.flows); prefixes are built once per run."""

    def __init__(self, constitution: Constitution, settings: ReviseSettings, engine: Engine, report: Report):
        self.constitution = constitution
        self.settings = settings
        self.engine = engine  # for prompt lengths only: generation goes through the flows' driver
        self.report = report
        self.critique_prefix = framing.critique_prefix(constitution)
        self.revision_prefix = framing.revision_prefix(constitution, with_critique=settings.critique)

    def start(self, record: Record) -> Revision:
        principles = sample_principles(self.constitution, record.key, self.settings.rounds)
        state = Revision(record, principles)
        if record.row.response is not None:
            state.initial, state.initial_source = record.row.response.strip(), "given"
        return state

    def _stages(self, state: Revision) -> list[tuple[str, int]]:
        """(stage, round) in the order this record goes through them."""
        plan = [("initial", 0)] if state.initial_source == "generated" else []
        for number in range(1, self.settings.rounds + 1):
            plan += [("critique", number)] if self.settings.critique else []
            plan.append(("revision", number))
        return plan

    def flow(self, state: Revision) -> Flow:
        """The record's stages one after another; a stage that fails ends the flow (quarantined)."""
        plan = self._stages(state)
        critique: tuple[str, Generation] | None = None
        for index, (stage, number) in enumerate(plan):
            messages = self._messages(state, stage, number, critique)
            answer = yield from self._ask(state, stage, number, messages)
            if answer is None:
                for later, later_number in plan[index + 1 :]:  # the bars count this record as passed through
                    self.report(events.skipped(later, later_number))
                return
            if stage == "initial":
                state.initial, state.initial_finish_reason = answer[0], answer[1].finish_reason
            elif stage == "critique":
                critique = answer
            else:
                state.rounds.append(_round(state.principles[number - 1], critique, answer))
                critique = None

    def _messages(
        self, state: Revision, stage: str, number: int, critique: tuple[str, Generation] | None
    ) -> tuple[Message, ...]:
        conversation = state.record.row.conversation()
        if stage == "initial":
            return tuple(conversation)
        principle = state.principles[number - 1]
        if stage == "critique":
            return framing.critique_messages(self.critique_prefix, conversation, state.current, principle)
        critique_text = critique[0] if critique else None
        return framing.revision_messages(self.revision_prefix, conversation, state.current, principle, critique_text)

    def _ask(
        self,
        state: Revision,
        stage: str,
        number: int,
        messages: tuple[Message, ...],
    ) -> Generator[Request, Generation, tuple[str, Generation] | None]:
        """One stage for one record: quarantine what cannot fit, else generate, retrying empty answers."""
        if not self._fits(state, messages, stage):
            self.report(events.skipped(stage, number))
            return None
        for attempt in range(self.settings.empty_retries + 1):
            tag = f"{stage}-{number}" if attempt == 0 else f"{stage}-{number}#{attempt}"
            output = yield self._request(messages, state.record.key, tag)
            self.report(events.done(stage, number, output, records=1 if attempt == 0 else 0))
            text = output.text.strip() if stage == "initial" else framing.clean_output(output.text)
            if text:
                return text, output
        attempts = self.settings.empty_retries + 1
        state.quarantine = ("empty_generation", f"{stage} {number}: empty after {attempts} attempts")
        return None

    def _fits(self, state: Revision, messages: tuple[Message, ...], stage: str) -> bool:
        needed = self.engine.prompt_tokens(messages) + self.settings.max_tokens
        if needed <= self.engine.max_model_len:
            return True
        state.quarantine = (
            "prompt_too_long",
            f"{stage}: prompt + max_tokens = {needed} tokens > max_model_len {self.engine.max_model_len}",
        )
        return False

    def _request(self, messages: Sequence[Message], key: str, stage: str) -> Request:
        s = self.settings
        return Request(
            messages=tuple(messages),
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=derived_seed(key, stage),
        )


def _round(principle: Principle, critique: tuple[str, Generation] | None, revision: tuple[str, Generation]) -> Round:
    return Round(
        principle=principle.id,
        critique=critique[0] if critique else None,
        revision=revision[0],
        finish_reason=revision[1].finish_reason,
        critique_finish_reason=critique[1].finish_reason if critique else None,
    )
