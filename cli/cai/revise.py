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

from cai import framing
from cai.constitution import Constitution, Principle
from cai.engine import Engine, Generation, Request
from cai.records import Record


@dataclass(frozen=True)
class ReviseSettings:
    rounds: int
    critique: bool
    max_tokens: int
    temperature: float
    top_p: float
    seed: int


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

    @property
    def current(self) -> str:
        revised = [r.revision for r in self.rounds if r.revision]
        return revised[-1] if revised else self.initial


@dataclass(frozen=True)
class StageDone:
    """Progress event: one batched engine call over a chunk finished."""

    stage: str
    round: int
    records: int
    prompt_tokens: int
    output_tokens: int
    length_stops: int


Report = Callable[[StageDone], None]


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
        self._initial(states)
        for number in range(1, self.settings.rounds + 1):
            live = [s for s in states if s.initial]
            critiques = self._critiques(live, number, len(states)) if self.settings.critique else [None] * len(live)
            self._revisions(live, number, critiques, len(states))
        return states

    def _start(self, record: Record) -> Revision:
        principles = sample_principles(self.constitution, record.key, self.settings.rounds)
        state = Revision(record, principles)
        if record.row.response is not None:
            state.initial, state.initial_source = record.row.response.strip(), "given"
        return state

    def _initial(self, states: list[Revision]) -> None:
        pending = [s for s in states if s.initial_source == "generated"]
        requests = [self._request(s.record.row.conversation(), s.record.key, "initial") for s in pending]
        for state, output in zip(pending, self._generate("initial", 0, requests, len(pending)), strict=True):
            state.initial = output.text.strip()
            state.initial_finish_reason = output.finish_reason

    def _critiques(self, states: list[Revision], number: int, chunk: int) -> list[Generation | None]:
        requests = [
            self._request(
                framing.critique_messages(
                    self.critique_prefix, s.record.row.conversation(), s.current, s.principles[number - 1]
                ),
                s.record.key,
                f"critique-{number}",
            )
            for s in states
        ]
        return list(self._generate("critique", number, requests, chunk))

    def _revisions(
        self, states: list[Revision], number: int, critiques: Sequence[Generation | None], chunk: int
    ) -> None:
        requests = []
        critique_texts = [framing.clean_output(c.text) if c else None for c in critiques]
        for state, critique in zip(states, critique_texts, strict=True):
            messages = framing.revision_messages(
                self.revision_prefix,
                state.record.row.conversation(),
                state.current,
                state.principles[number - 1],
                critique,
            )
            requests.append(self._request(messages, state.record.key, f"revision-{number}"))
        outputs = self._generate("revision", number, requests, chunk)
        for state, critique_output, critique, output in zip(states, critiques, critique_texts, outputs, strict=True):
            state.rounds.append(
                Round(
                    principle=state.principles[number - 1].id,
                    critique=critique,
                    revision=framing.clean_output(output.text),
                    finish_reason=output.finish_reason,
                    critique_finish_reason=critique_output.finish_reason if critique_output else None,
                )
            )

    def _request(self, messages: Sequence[dict[str, str]], key: str, stage: str) -> Request:
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
        outputs = self.engine.generate(requests) if requests else []
        self.report(
            StageDone(
                stage=stage,
                round=number,
                records=chunk,
                prompt_tokens=sum(o.prompt_tokens for o in outputs),
                output_tokens=sum(o.output_tokens for o in outputs),
                length_stops=sum(o.finish_reason == "length" for o in outputs),
            )
        )
        return outputs
