"""The one engine protocol every pass talks to: chat requests in, generations out.

Implementations: `cai.engines.vllm.VLLMEngine` (vLLM in this process) and
`cai.engines.server.ServerEngine` (one or many `vllm serve` servers over their OpenAI-compatible API).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, str]


@dataclass(frozen=True)
class Request:
    """One chat conversation to continue, with its own sampling settings.

    `continue_final` continues the last (assistant) message instead of opening a new turn, and
    `prompt_logprobs` returns the log-probability of every prompt token: together they score a
    fixed continuation such as an option letter. `json_schema` constrains the output (structured
    outputs).
    """

    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 0.7
    top_p: float = 1.0
    seed: int | None = None
    logprobs: int | None = None
    continue_final: bool = False
    prompt_logprobs: bool = False
    json_schema: dict[str, Any] | None = None
    # which record the request belongs to (set by flows.drive): a server engine keeps a record's requests on
    # one server so its prefix cache hits. Not part of equality: it does not change what is generated.
    affinity: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    output_tokens: int
    logprobs: tuple[dict[str, float], ...] | None = None
    prompt_token_ids: tuple[int, ...] = ()
    prompt_logprobs: tuple[float | None, ...] | None = None
    cached_tokens: int = 0  # prompt tokens vLLM's prefix cache served


class Engine(Protocol):
    model_name: str
    max_model_len: int
    dtype: str  # the dtype the weights run in, and why: shown in the summary and the manifest
    dtype_reason: str

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        """Continue every conversation; outputs come back in request order."""
        ...

    def submit(self, requests: Sequence[Request]) -> list[int]:
        """Queue requests without waiting; each gets a ticket that `collect` hands back with its output."""
        ...

    def collect(self) -> list[tuple[int, Generation]]:
        """Run the engine until at least one submitted request has finished; return all that have."""
        ...

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Length of the conversation after the chat template, so a too-long prompt never reaches a batch."""
        ...

    def close(self) -> None:
        """Release the model; the engine is not used afterwards."""
        ...


class TokenCounter(Protocol):
    """Counts a conversation's prompt tokens as the engine would (chat template applied): an engine, or a
    tokenizer alone for a dry run."""

    def prompt_tokens(self, messages: Sequence[Message]) -> int: ...


def generate_by_tickets(
    engine: Engine, requests: Sequence[Request], hold: list[tuple[int, Generation]]
) -> list[Generation]:
    """`generate` for an engine that submits and collects: wait for these requests' tickets; outputs of other
    requests that finish meanwhile go to `hold`, for the engine's next `collect` to hand back."""
    tickets = engine.submit(requests)
    wanted, results = set(tickets), dict[int, Generation]()
    while len(results) < len(tickets):
        for ticket, generation in engine.collect():
            if ticket in wanted:
                results[ticket] = generation
            else:
                hold.append((ticket, generation))
    return [results[t] for t in tickets]
