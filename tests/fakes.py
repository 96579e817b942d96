"""A scripted engine for fast unit tests: it records every batch and answers with a function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cai.engine import Generation, Request

Responder = Callable[[Request], str]


def echo_stage(request: Request) -> str:
    """Answers so each stage's output is recognisable: 'initial: ...', 'critique of ...', 'revised ...'."""
    task = request.messages[-1]["content"]
    if "Revision request:" in task:
        return f"Sure, here is a revised response: revised after {len(request.messages)} messages"
    if "Critique request:" in task:
        return "Critique: the reply could be kinder."
    return f"initial answer to {task}"


@dataclass
class ScriptedEngine:
    responder: Responder = echo_stage
    model_name: str = "fake"
    max_model_len: int = 100_000
    batches: list[list[Request]] = field(default_factory=list)
    closed: bool = False

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        self.batches.append(list(requests))
        outputs = []
        for request in requests:
            text = self.responder(request)
            outputs.append(
                Generation(
                    text=text,
                    finish_reason="stop",
                    prompt_tokens=self.prompt_tokens(request.messages),
                    output_tokens=len(text.split()),
                )
            )
        return outputs

    def close(self) -> None:
        self.closed = True

    @property
    def requests(self) -> list[Request]:
        return [request for batch in self.batches for request in batch]
