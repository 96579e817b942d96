"""A scripted engine for fast unit tests: it records every batch and answers with functions.

Generations come from `responder`. `submit`/`collect` run whatever is queued as one batch, so the
flows that cai drives show up in `batches` as waves. The pairwise judge's option requests are answered
by `option_logprob`, asked about the request with the option letter appended: a one-token request with
top-k logprobs gets the letters in `top_letters` in its top k; a continuation with prompt log-probs (the
fallback) is tokenised by character, so the option letter is the last token with that log-probability.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from cai.engines import Generation, Request
from cai.engines.flows import Flow, drive
from cai.engines.registry import EngineFactory, TokenizerFactory, register_engine
from cai.judge.pairwise import PairTask, PairVerdict, PairwiseJudge

Responder = Callable[[Request], str]
OptionScorer = Callable[[Request], float]


def echo_stage(request: Request) -> str:
    """Answers so each stage's output is recognisable: 'initial: ...', 'critique of ...', 'revised ...'."""
    task = request.messages[-1]["content"]
    if request.json_schema is not None:
        return '{"score": 7, "reason": "mostly fine"}'
    if "Revision request:" in task:
        return f"Sure, here is a revised response: revised after {len(request.messages)} messages"
    if "Critique request:" in task:
        return "Critique: the reply could be kinder."
    if "Options:\n(A)" in task:
        return "Option (A) is kinder."
    return f"initial answer to {task}"


def options(request: Request) -> tuple[str, str, str]:
    """(text of option A, text of option B, the letter being scored) of a judge continuation."""
    question = request.messages[-2]["content"]
    found = re.search(r"\n\(A\) (.*)\n\(B\) (.*)\n", question)
    assert found, question
    return found.group(1), found.group(2), request.messages[-1]["content"][-1]


def prefers_good(request: Request) -> float:
    """P(option) 0.8 when its text says 'good' and the other's does not; 0.5 when both or neither do."""
    a, b, letter = options(request)
    mine, other = (a, b) if letter == "A" else (b, a)
    score = ("good" in mine) - ("good" in other)
    return math.log({1: 0.8, 0: 0.5, -1: 0.2}[score])


def biased(request: Request) -> float:
    """Content preference plus a pull towards whatever is shown as (A)."""
    return prefers_good(request) + (0.7 if options(request)[2] == "A" else 0.0)


@dataclass
class ScriptedEngine:
    responder: Responder = echo_stage
    option_logprob: OptionScorer = prefers_good
    model_name: str = "fake"
    max_model_len: int = 100_000
    dtype: str = "float32"
    dtype_reason: str = "a scripted engine"
    top_letters: str = "AB"  # the option letters a next-token request finds in its top k
    batches: list[list[Request]] = field(default_factory=list)
    closed: bool = False
    queued: list[tuple[int, Request]] = field(default_factory=list)
    tickets_issued: int = 0

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        self.batches.append(list(requests))
        return [self._answer(r) for r in requests]

    def _answer(self, request: Request) -> Generation:
        if request.prompt_logprobs:
            return self._scored(request)
        if request.logprobs and request.continue_final:
            return self._next_token(request)
        return self._generated(request)

    def _next_token(self, request: Request) -> Generation:
        top = {}
        for letter in self.top_letters:
            with_letter = (
                *request.messages[:-1],
                {"role": "assistant", "content": request.messages[-1]["content"] + letter},
            )
            top[letter] = self.option_logprob(dataclasses.replace(request, messages=with_letter))
        top.setdefault("The", -0.5)  # another candidate token in the top k
        return Generation("A", "length", self.prompt_tokens(request.messages), 1, logprobs=(top,))

    def submit(self, requests: Sequence[Request]) -> list[int]:
        tickets = list(range(self.tickets_issued, self.tickets_issued + len(requests)))
        self.tickets_issued += len(requests)
        self.queued += zip(tickets, requests, strict=True)
        return tickets

    def collect(self) -> list[tuple[int, Generation]]:
        """Everything queued runs as one batch (a wave): waves show up in `batches` like generate calls."""
        queued, self.queued = self.queued, []
        outputs = self.generate([request for _, request in queued])
        return [(ticket, output) for (ticket, _), output in zip(queued, outputs, strict=True)]

    def _generated(self, request: Request) -> Generation:
        text = self.responder(request)
        return Generation(
            text=text,
            finish_reason="stop",
            prompt_tokens=self.prompt_tokens(request.messages),
            output_tokens=len(text.split()),
        )

    def _scored(self, request: Request) -> Generation:
        ids = tuple(ord(c) for c in "\n".join(m["content"] for m in request.messages))
        logprobs = (None, *([0.0] * (len(ids) - 2)), self.option_logprob(request))
        return Generation("", "length", len(ids), 1, prompt_token_ids=ids, prompt_logprobs=logprobs)

    def close(self) -> None:
        self.closed = True

    @property
    def requests(self) -> list[Request]:
        return [request for batch in self.batches for request in batch]


class FailsOnCall(ScriptedEngine):
    """Raises (like a crash) on the n-th engine call."""

    def __init__(self, fail_on: int):
        super().__init__()
        self.fail_on = fail_on

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        if len(self.batches) + 1 == self.fail_on:
            raise RuntimeError("engine died")
        return super().generate(requests)


def judge_pairs(judge: PairwiseJudge, tasks: Sequence[PairTask], window: int = 64) -> list[PairVerdict]:
    """Every pair's flow on the judge's engine, as a command drives them; verdicts in task order."""
    verdicts: dict[int, PairVerdict] = {}

    def run(number: int, task: PairTask) -> Flow:
        verdicts[number] = yield from judge.flow(task)

    for _ in drive(judge.engine, ((number, run(number, task)) for number, task in enumerate(tasks)), window):
        pass
    return [verdicts[number] for number in range(len(tasks))]


_engine_names = itertools.count()
J = TypeVar("J")


def on_engine(job: J, build: EngineFactory, tokenizer: TokenizerFactory | None = None) -> J:
    """The job run on the engine `build` makes, selected by name through the registry, as a user selects one."""
    name = f"test-engine-{next(_engine_names)}"
    register_engine(name, build, tokenizer or (lambda path: ScriptedEngine()))
    engine_options = replace(job.engine, engine=name)  # type: ignore[attr-defined]
    return replace(job, engine=engine_options)  # type: ignore[type-var]
