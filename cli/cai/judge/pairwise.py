"""The RL-CAI pairwise labeler: which of two responses better follows a principle, as a probability.

The label is read from log-probabilities, never from sampled text: one token is generated after
"The better response is (" and the top-k log-probs of the letters A and B are normalised against each
other (cai.judge.option_scores; scoring both continuations is the fallback when a letter is not in the top k).
Both orders are asked and averaged, so position bias cancels, and K sampled principles are averaged
(an ensemble). With chain of thought the model reasons first, then the option is read after its
reasoning; those probabilities are clamped (default 0.4–0.6) because chain-of-thought labels are
over-confident. Each pair is a flow (cai.engines.flows): per order, the first principle is asked alone and the
others after it at once, so they read the conversation and both options from the prefix cache.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from cai.constitution import Constitution, Principle
from cai.engines import events
from cai.engines.events import Report
from cai.engines.flows import Flow, Parallel, ask
from cai.engines.protocol import Engine, Message, Request
from cai.framing import ROLE_LABELS
from cai.io.keys import derived_seed
from cai.judge.option_scores import (
    CONTINUATION,
    NEXT_TOKEN,
    TOP_LOGPROBS,
    continuation_probability,
    next_token_probability,
)
from cai.options import option

JUDGE_SYSTEM = "You are a careful judge of AI assistant responses. You compare two responses against one principle."
ANSWER_PREFIX = "The better response is ("
COT_ANSWER_PREFIX = "\nTherefore, the better response is ("
OPTIONS = ("A", "B")


@dataclass(frozen=True)
class JudgeSettings:
    """How pairs are judged; its fields are the judge's command-line options (cai.options)."""

    principles: int = option(
        4, min=1, help="Comparison principles sampled per pair (an ensemble: their labels are averaged)."
    )
    cot: bool = option(False, "--cot", help="Reason first, then read the option probability (clamped).")
    clamp: tuple[float, float] = option((0.4, 0.6), help="With --cot: clamp each probability to [LO, HI].")
    cot_max_tokens: int = option(128, min=1, help="With --cot: tokens of reasoning.")
    temperature: float = 0.7  # of the reasoning

    def clamp_problem(self) -> str | None:
        """Why --clamp cannot be used, or None."""
        low, high = self.clamp
        return None if 0 <= low <= 0.5 <= high <= 1 else "expected 0 <= LO <= 0.5 <= HI <= 1"


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
    methods: tuple[str, str] = (NEXT_TOKEN, NEXT_TOKEN)  # how each order's P was read (cai.judge.option_scores)

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
        "method": {"a_first": verdict.methods[0], "a_second": verdict.methods[1]},
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
        "Think step by step about which option answers this question better, then give your answer:"
        if cot
        else "Answer this question with the letter of the better option:"
    )
    # Everything K principles share comes first (conversation, both options, the instruction), so it is
    # prefilled once and read from the prefix cache; only the principle's own question follows.
    return (
        "Consider the following conversation between a human and an assistant:\n"
        f"{turns}\n\nOptions:\n(A) {first}\n(B) {second}\n\n{ask}\n{principle.comparison}"
    )


def judge_messages(text: str) -> tuple[Message, ...]:
    return ({"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": text})


def option_request(
    messages: tuple[Message, ...], answer: str, logprobs: int | None = None, prompt_logprobs: bool = False
) -> Request:
    """The judge's answer so far, continued by one token: read for its top-k, or scored as a whole."""
    return Request(
        messages=(*messages, {"role": "assistant", "content": answer}),
        max_tokens=1,
        temperature=0.0,
        logprobs=logprobs,
        continue_final=True,
        prompt_logprobs=prompt_logprobs,
    )


def question_messages(task: PairTask, principle: Principle, a_first: bool, cot: bool) -> tuple[Message, ...]:
    """One principle's question about a pair, with a shown as (A) when `a_first`."""
    first, second = (task.a, task.b) if a_first else (task.b, task.a)
    return judge_messages(question(task.conversation, principle, first, second, cot))


def answer_prefix(cot: bool) -> str:
    """What the option letter is read after (with chain of thought: after the reasoning)."""
    return COT_ANSWER_PREFIX if cot else ANSWER_PREFIX


def pair_reads(constitution: Constitution, settings: JudgeSettings, task: PairTask) -> list[tuple[Message, ...]]:
    """Every option read of one pair, both orders, as the judge's flow asks them (before any top-k fallback)."""
    principles = sample_comparisons(constitution, task.key, settings.principles)
    return [
        option_request(question_messages(task, principle, a_first, settings.cot), answer_prefix(settings.cot)).messages
        for a_first in (True, False)
        for principle in principles
    ]


@dataclass(frozen=True)
class _Answer:
    """One principle in one order: P(the option shown as (A) is better), and how it was read."""

    p_first_option: float
    method: str
    reasoning: str = ""


Asking = Generator[Request | Parallel, Any, _Answer]


class PairwiseJudge:
    """Labels pairs: each pair is a flow of requests (cai.engines.flows), reported to `report` as stage "judge"."""

    def __init__(self, constitution: Constitution, settings: JudgeSettings, engine: Engine, report: Report):
        self.constitution = constitution
        self.settings = settings
        self.engine = engine  # for prompt lengths only: flows are driven by the caller
        self.report = report

    def fits(self, task: PairTask) -> bool:
        """Whether every question for this pair fits the model's context."""
        longest = max(self.constitution.principles, key=lambda p: len(p.comparison))
        text = question(task.conversation, longest, task.a, task.b, self.settings.cot)
        needed = self.engine.prompt_tokens(judge_messages(text)) + self.settings.cot_max_tokens + 16
        return needed <= self.engine.max_model_len

    def flow(self, task: PairTask) -> Generator[Request | Parallel, Any, PairVerdict]:
        """Both orders side by side; in each, the first principle alone, then the others at once.

        The first question of an order puts the conversation and both options into the prefix cache;
        the other K-1 questions of that order differ only in their last lines and read it from there.
        """
        principles = sample_comparisons(self.constitution, task.key, self.settings.principles)
        by_order = yield Parallel([self._order(task, principles, a_first) for a_first in (True, False)])
        first, second = by_order
        verdicts = tuple(self._verdict(p, a, b) for p, a, b in zip(principles, first, second, strict=True))
        return PairVerdict(verdicts, cot=self.settings.cot)

    def _order(self, task: PairTask, principles: list[Principle], a_first: bool) -> Flow:
        cot = self.settings.cot
        asks = [self._ask(task.key, p, a_first, question_messages(task, p, a_first, cot)) for p in principles]
        head = yield from asks[0]
        rest = (yield Parallel(asks[1:])) if len(asks) > 1 else []
        return [head, *rest]

    def _ask(self, key: str, principle: Principle, a_first: bool, messages: tuple[Message, ...]) -> Asking:
        reasoning = ""
        if self.settings.cot:
            seed = derived_seed(key, f"judge-cot-{principle.id}-{a_first}")
            thought = yield Request(messages, self.settings.cot_max_tokens, self.settings.temperature, seed=seed)
            self.report(events.done("judge", 0, thought, records=0))
            reasoning = thought.text.strip()
        prefix = reasoning + answer_prefix(self.settings.cot)
        answer = yield option_request(messages, prefix, logprobs=TOP_LOGPROBS)
        self.report(events.scored("judge", answer))
        probability = next_token_probability(answer, OPTIONS)
        if probability is not None:
            return _Answer(probability, NEXT_TOKEN, reasoning)
        # a letter missing from the top k: score both continuations instead
        scored = yield Parallel([ask(option_request(messages, prefix + o, prompt_logprobs=True)) for o in OPTIONS])
        for output in scored:
            self.report(events.scored("judge", output))
        return _Answer(continuation_probability(*scored), CONTINUATION, reasoning)

    def _verdict(self, principle: Principle, first: _Answer, second: _Answer) -> PrincipleVerdict:
        """`first` asked with a as (A), `second` with a as (B)."""
        reasoning = (first.reasoning, second.reasoning) if self.settings.cot else None
        return PrincipleVerdict(
            principle.id,
            self._clamp(first.p_first_option),
            self._clamp(1 - second.p_first_option),
            reasoning,
            (first.method, second.method),
        )

    def _clamp(self, probability: float) -> float:
        if not self.settings.cot:
            return probability
        low, high = self.settings.clamp
        return min(max(probability, low), high)
