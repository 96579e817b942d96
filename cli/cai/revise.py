"""The SL-CAI revise pass: initial response, then N critique → revision rounds per record.

Each stage over a chunk of records is one batched engine call. Principles are sampled per record
from a generator seeded by the record key, so a rerun (or a resume) samples the same principles.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cai import events, framing
from cai.constitution import Constitution, Principle
from cai.engine import Engine, Generation, Message, Request
from cai.events import Report
from cai.records import Record


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


def sample_principles(constitution: Constitution, key: str, rounds: int) -> list[Principle]:
    """Weighted sampling with replacement, seeded by the record key alone (which includes the seed)."""
    rng = random.Random(int(key, 16))
    weights = [p.weight for p in constitution.principles]
    return rng.choices(list(constitution.principles), weights=weights, k=rounds)


def derived_seed(key: str, stage: str) -> int:
    return int(hashlib.sha256(f"{key}:{stage}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


class ReviseRunner:
    """Runs chunks of records through the stages with one engine; prefixes are built once per run."""

    def __init__(self, constitution: Constitution, settings: ReviseSettings, engine: Engine, report: Report):
        self.constitution = constitution
        self.settings = settings
        self.engine = engine
        self.report = report
        self.critique_prefix = framing.critique_prefix(constitution)
        self.revision_prefix = framing.revision_prefix(constitution, with_critique=settings.critique)

    def run(self, records: Sequence[Record]) -> list[Revision]:
        states = [self._start(record) for record in records]
        generated = [s for s in states if s.initial_source == "generated"]
        for state, text, output in self._stage("initial", 0, generated, self._initial_messages, len(generated)):
            state.initial, state.initial_finish_reason = text, output.finish_reason
        for number in range(1, self.settings.rounds + 1):
            self._round(number, states)
        return states

    def _start(self, record: Record) -> Revision:
        principles = sample_principles(self.constitution, record.key, self.settings.rounds)
        state = Revision(record, principles)
        if record.row.response is not None:
            state.initial, state.initial_source = record.row.response.strip(), "given"
        return state

    def _round(self, number: int, states: list[Revision]) -> None:
        critiques: dict[int, tuple[str, Generation]] = {}
        if self.settings.critique:
            live = [s for s in states if s.quarantine is None]
            for state, text, output in self._stage(
                "critique", number, live, lambda s: self._critique_messages(s, number), len(states)
            ):
                critiques[id(state)] = (text, output)
        live = [s for s in states if s.quarantine is None]
        for state, text, output in self._stage(
            "revision", number, live, lambda s: self._revision_messages(s, number, critiques.get(id(s))), len(states)
        ):
            critique = critiques.get(id(state))
            state.rounds.append(
                Round(
                    principle=state.principles[number - 1].id,
                    critique=critique[0] if critique else None,
                    revision=text,
                    finish_reason=output.finish_reason,
                    critique_finish_reason=critique[1].finish_reason if critique else None,
                )
            )

    @staticmethod
    def _initial_messages(state: Revision) -> Sequence[Message]:
        return state.record.row.conversation()

    def _critique_messages(self, state: Revision, number: int) -> Sequence[Message]:
        conversation = state.record.row.conversation()
        principle = state.principles[number - 1]
        return framing.critique_messages(self.critique_prefix, conversation, state.current, principle)

    def _revision_messages(
        self, state: Revision, number: int, critique: tuple[str, Generation] | None
    ) -> Sequence[Message]:
        conversation = state.record.row.conversation()
        principle = state.principles[number - 1]
        critique_text = critique[0] if critique else None
        return framing.revision_messages(self.revision_prefix, conversation, state.current, principle, critique_text)

    def _stage(
        self,
        stage: str,
        number: int,
        states: list[Revision],
        messages_of: Callable[[Revision], Sequence[Message]],
        chunk: int,
    ) -> list[tuple[Revision, str, Generation]]:
        """One stage over a chunk: quarantine what cannot fit, then generate, retrying empty answers."""
        pending = [(state, tuple(messages_of(state))) for state in states]
        pending = [(state, messages) for state, messages in pending if self._fits(state, messages, stage)]
        done: list[tuple[Revision, str, Generation]] = []
        for attempt in range(self.settings.empty_retries + 1):
            tag = f"{stage}-{number}" if attempt == 0 else f"{stage}-{number}#{attempt}"
            requests = [self._request(messages, state.record.key, tag) for state, messages in pending]
            outputs = self._generate(stage, number, requests, chunk if attempt == 0 else 0)
            retry = []
            for (state, messages), output in zip(pending, outputs, strict=True):
                text = output.text.strip() if stage == "initial" else framing.clean_output(output.text)
                if text:
                    done.append((state, text, output))
                else:
                    retry.append((state, messages))
            if not retry:
                break
            pending = retry
        else:
            for state, _ in pending:
                attempts = self.settings.empty_retries + 1
                state.quarantine = ("empty_generation", f"{stage} {number}: empty after {attempts} attempts")
        return done

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

    def _generate(self, stage: str, number: int, requests: list[Request], chunk: int) -> list[Generation]:
        """One batched engine call; `chunk` counts the records this stage is done for, skipped ones too."""
        return events.generate(self.engine, requests, self.report, stage, number, chunk)
