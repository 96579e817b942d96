"""`--dry-run`: everything a run would check and count, without an engine and without touching a file.

A dry run validates the input, the constitution, the options and the resume state of OUTPUT exactly
as the run would, loads only the model's tokenizer, and returns a `DryRun`: where every input row
would go and, per pass, how many requests and prompt tokens the engine would get. Prompt tokens are
counted the way the engine's prompt-length check counts them (the chat template applied); a pass
whose prompts contain text the model has yet to generate is counted without that text, a lower bound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cai.engines import Message
from cai.runs.ledger import Plan


class TokenCounter(Protocol):
    def prompt_tokens(self, messages: Sequence[Message]) -> int: ...


TokenizerFactory = Callable[[str], TokenCounter]


@dataclass(frozen=True)
class Pass:
    """One pass of the run: its requests and their prompt tokens (None: not counted)."""

    name: str
    requests: int
    prompt_tokens: int | None = None
    exact: bool = True  # False: a lower bound, the prompts hold text still to be generated

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens, "exact": self.exact}


@dataclass
class DryRun:
    """The plan of a run: every input row's destination, and the work per pass."""

    command: str
    input: str
    output: str
    rejects: str
    rows_in: int
    already_done: int
    todo: int
    torn_lines: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    passes: list[Pass] = field(default_factory=list)
    tokens: str = ""  # what counted the prompt tokens, or why they were not counted
    bad_rows: str | None = None  # more bad rows than --max-bad-rows: the run would stop (exit 2)

    @classmethod
    def of(cls, command: str, input_label: str, output: str, rejects: str, plan: Plan[Any]) -> DryRun:
        run = cls(command, input_label, output, rejects, plan.input_rows, plan.already_done, len(plan.todo))
        run.torn_lines = plan.holdings.torn_lines
        for entry in plan.new_rejects:
            (run.dropped if entry.kind == "dropped" else run.quarantined)[entry.reason] += 1
        return run

    @property
    def prompt_tokens(self) -> int | None:
        counted = [p.prompt_tokens for p in self.passes if p.prompt_tokens is not None]
        return sum(counted) if len(counted) == len(self.passes) else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "command": self.command,
            "input": self.input,
            "output": self.output,
            "rows_in": self.rows_in,
            "already_done": self.already_done,
            "to_do": self.todo,
            "quarantined": dict(self.quarantined),
            "dropped": dict(self.dropped),
            "torn_lines": self.torn_lines,
            "passes": {p.name: p.as_dict() for p in self.passes},
            "prompt_tokens": self.prompt_tokens,
            "tokens_counted_by": self.tokens,
            "bad_rows": self.bad_rows,
        }


def counted(name: str, prompts: Iterable[tuple[Sequence[Message], bool]], counter: TokenCounter | None) -> Pass:
    """A pass from its requests' messages, each with whether its text is all known now."""
    requests = tokens = 0
    exact = True
    for messages, known in prompts:
        requests += 1
        exact = exact and known
        if counter is not None:
            tokens += counter.prompt_tokens(messages)
    return Pass(name, requests, tokens if counter is not None else None, exact)


def counter_for(
    servers: Sequence[str], servers_file: str | None, model_path: str, factory: TokenizerFactory
) -> tuple[TokenCounter | None, str]:
    """The tokenizer of the model the run would load; none on servers (the run would not load it either)."""
    from cai.engines.probe import server_urls  # httpx loads only here

    if server_urls(servers, servers_file):
        return None, "not counted: with --server the model's tokenizer lives on the servers (checked, not asked)"
    counter = factory(model_path)
    return counter, str(getattr(counter, "label", type(counter).__name__))
