"""The RL-CAI pairwise labeler: which of two responses better follows a principle, as a probability.

The label is read from log-probabilities, never from sampled text: each option letter is scored
as a continuation of "The better response is (" and the two are normalised against each other.
Summing the log-probs of every token after the shared prefix makes this independent of how the
tokenizer splits "(A" or " A". Both orders are asked and averaged, so position bias cancels, and
K sampled principles are averaged (an ensemble). With chain of thought the model reasons first,
then the option is scored after its reasoning; those probabilities are clamped (default 0.4–0.6)
because chain-of-thought labels are over-confident.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from cai import events
from cai.constitution import Constitution, Principle
from cai.engine import Engine, Generation, Message, Request
from cai.errors import EngineError
from cai.events import Report
from cai.framing import ROLE_LABELS
from cai.revise import derived_seed

JUDGE_SYSTEM = "You are a careful judge of AI assistant responses. You compare two responses against one principle."
ANSWER_PREFIX = "The better response is ("
COT_ANSWER_PREFIX = "\nTherefore, the better response is ("
OPTIONS = ("A", "B")


@dataclass(frozen=True)
class JudgeSettings:
    principles: int = 4
    cot: bool = False
    clamp: tuple[float, float] = (0.4, 0.6)
    cot_max_tokens: int = 128
    temperature: float = 0.7


@dataclass(frozen=True)
class PairTask:
    """Two responses to one conversation; `key` seeds the principle sample and the reasoning."""

    key: str
    conversation: tuple[Message, ...]
    a: str
    b: str


@dataclass(frozen=True)
class PrincipleVerdict:
    principle: str
    p_a_first: float  # P(a is better) when a is shown as (A)
    p_a_second: float  # P(a is better) when a is shown as (B)
    reasoning: tuple[str, str] | None = None

    @property
    def p_a(self) -> float:
        return (self.p_a_first + self.p_a_second) / 2


@dataclass(frozen=True)
class PairVerdict:
    verdicts: tuple[PrincipleVerdict, ...]
    cot: bool = False

    @property
    def p_a(self) -> float:
        return fmean(v.p_a for v in self.verdicts)

    @property
    def p_a_first(self) -> float:
        return fmean(v.p_a_first for v in self.verdicts)

    @property
    def p_a_second(self) -> float:
        return fmean(v.p_a_second for v in self.verdicts)

    @property
    def margin(self) -> float:
        """P(a better) − P(b better), in [-1, 1]."""
        return 2 * self.p_a - 1

    @property
    def position_consistent(self) -> bool:
        """Both orders pick the same side (averaged over the principles)."""
        return (self.p_a_first - 0.5) * (self.p_a_second - 0.5) > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "p_a": round(self.p_a, 6),
            "margin": round(self.margin, 6),
            "preferred": "a" if self.p_a > 0.5 else "b" if self.p_a < 0.5 else "tie",
            "orders": {"a_first": round(self.p_a_first, 6), "a_second": round(self.p_a_second, 6)},
            "position_consistent": self.position_consistent,
            "cot": self.cot,
            "principles": [_principle_dict(v) for v in self.verdicts],
        }


def _principle_dict(verdict: PrincipleVerdict) -> dict[str, Any]:
    row: dict[str, Any] = {
        "principle": verdict.principle,
        "p_a": round(verdict.p_a, 6),
        "a_first": round(verdict.p_a_first, 6),
        "a_second": round(verdict.p_a_second, 6),
    }
    if verdict.reasoning is not None:
        row["reasoning"] = list(verdict.reasoning)
    return row


def sample_comparisons(constitution: Constitution, key: str, count: int) -> list[Principle]:
    """K principles by weight, without replacement, seeded by the row key."""
    rng = random.Random(f"judge:{key}")
    pool = list(constitution.principles)
    chosen: list[Principle] = []
    while pool and len(chosen) < count:
        pick = rng.choices(pool, weights=[p.weight for p in pool])[0]
        pool.remove(pick)
        chosen.append(pick)
    return chosen


def question(conversation: Sequence[Message], principle: Principle, first: str, second: str, cot: bool) -> str:
    turns = "\n".join(f"{ROLE_LABELS[m['role']]}: {m['content']}" for m in conversation)
    ask = (
        "Think step by step about which option follows the principle better, then give your answer."
        if cot
        else "Answer with the letter of the better option."
    )
    return (
        "Consider the following conversation between a human and an assistant:\n"
        f"{turns}\n\n{principle.comparison}\nOptions:\n(A) {first}\n(B) {second}\n{ask}"
    )


def option_probability(option_a: Generation, option_b: Generation) -> float:
    """P(A) from two scored continuations that differ only in the option tokens at the end."""
    shared = _shared_prefix(option_a.prompt_token_ids, option_b.prompt_token_ids)
    log_a, log_b = _tail_logprob(option_a, shared), _tail_logprob(option_b, shared)
    return 1 / (1 + math.exp(log_b - log_a))


def _shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    shared = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        shared += 1
    return shared


def _tail_logprob(generation: Generation, start: int) -> float:
    values = (generation.prompt_logprobs or ())[start:]
    if not values or any(v is None for v in values):
        raise EngineError("the engine returned no prompt log-probs for the option tokens")
    return sum(v for v in values if v is not None)


@dataclass
class _Question:
    task_index: int
    principle: Principle
    a_first: bool
    messages: tuple[Message, ...]
    reasoning: str = ""
    p_first_option: float = 0.5


class PairwiseJudge:
    """Labels pairs in batches: one engine call for reasoning (with --cot), one for the option scores."""

    def __init__(self, constitution: Constitution, settings: JudgeSettings, engine: Engine, report: Report):
        self.constitution = constitution
        self.settings = settings
        self.engine = engine
        self.report = report

    def fits(self, task: PairTask) -> bool:
        """Whether every question for this pair fits the model's context."""
        longest = max(self.constitution.principles, key=lambda p: len(p.comparison))
        text = question(task.conversation, longest, task.a, task.b, self.settings.cot)
        needed = self.engine.prompt_tokens(self._messages(text)) + self.settings.cot_max_tokens + 16
        return needed <= self.engine.max_model_len

    def judge(self, tasks: Sequence[PairTask]) -> list[PairVerdict]:
        questions = [q for index, task in enumerate(tasks) for q in self._questions(index, task)]
        if self.settings.cot:
            self._reason(questions, tasks)
        self._score(questions)
        return [self._verdict(index, questions) for index in range(len(tasks))]

    def _questions(self, index: int, task: PairTask) -> list[_Question]:
        found = []
        for principle in sample_comparisons(self.constitution, task.key, self.settings.principles):
            for a_first in (True, False):
                first, second = (task.a, task.b) if a_first else (task.b, task.a)
                text = question(task.conversation, principle, first, second, self.settings.cot)
                found.append(_Question(index, principle, a_first, self._messages(text)))
        return found

    @staticmethod
    def _messages(text: str) -> tuple[Message, ...]:
        return ({"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": text})

    def _reason(self, questions: list[_Question], tasks: Sequence[PairTask]) -> None:
        requests = [
            Request(
                messages=q.messages,
                max_tokens=self.settings.cot_max_tokens,
                temperature=self.settings.temperature,
                seed=derived_seed(tasks[q.task_index].key, f"judge-cot-{q.principle.id}-{q.a_first}"),
            )
            for q in questions
        ]
        for q, output in zip(questions, self._generate("judge reasoning", requests, 0), strict=True):
            q.reasoning = output.text.strip()

    def _score(self, questions: list[_Question]) -> None:
        requests = []
        for q in questions:
            prefix = (q.reasoning + COT_ANSWER_PREFIX) if self.settings.cot else ANSWER_PREFIX
            for option in OPTIONS:
                messages = (*q.messages, {"role": "assistant", "content": prefix + option})
                requests.append(
                    Request(messages=messages, max_tokens=1, temperature=0.0, continue_final=True, prompt_logprobs=True)
                )
        pairs = len({q.task_index for q in questions})
        outputs = self._generate("judge", requests, pairs, scoring=True)
        for number, q in enumerate(questions):
            q.p_first_option = option_probability(outputs[2 * number], outputs[2 * number + 1])

    def _verdict(self, index: int, questions: list[_Question]) -> PairVerdict:
        mine = [q for q in questions if q.task_index == index]
        verdicts = []
        for first, second in zip(mine[0::2], mine[1::2], strict=True):  # (a shown first, a shown second)
            p_first = self._clamp(first.p_first_option)
            p_second = self._clamp(1 - second.p_first_option)
            reasoning = (first.reasoning, second.reasoning) if self.settings.cot else None
            verdicts.append(PrincipleVerdict(first.principle.id, p_first, p_second, reasoning))
        return PairVerdict(tuple(verdicts), cot=self.settings.cot)

    def _clamp(self, probability: float) -> float:
        if not self.settings.cot:
            return probability
        low, high = self.settings.clamp
        return min(max(probability, low), high)

    def _generate(self, stage: str, requests: list[Request], records: int, scoring: bool = False) -> list[Generation]:
        return events.generate(self.engine, requests, self.report, stage, 0, records, scoring_only=scoring)
