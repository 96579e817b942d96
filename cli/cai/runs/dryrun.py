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
from typing import Any

from rich.table import Table

from cai.engines.protocol import Message, TokenCounter
from cai.runs.engines import Role
from cai.runs.harness import Prepared
from cai.runs.tables import counts, summary_grid


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
    already_done: int = 0
    todo: int = 0
    torn_lines: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    passes: list[Pass] = field(default_factory=list)
    tokens: str = ""  # what counted the prompt tokens, or why they were not counted
    bad_rows: str | None = None  # more bad rows than --max-bad-rows: the run would stop (exit 2)

    @classmethod
    def of(cls, prepared: Prepared[Any]) -> DryRun:
        """Where every row of a prepared (read-only) run would go; the passes are the command's to count."""
        paths, resume = prepared.paths, prepared.resume
        output = str(paths.output or "<stdout>")
        run = cls(prepared.tool, prepared.input_label, output, str(paths.rejects), resume.input_rows)
        run.already_done, run.todo, run.torn_lines = resume.already_done, len(prepared.todo), resume.holdings.torn_lines
        for entry in prepared.new_rejects:
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


def planned(prepared: Prepared[Any], passes: Callable[[TokenCounter | None], list[Pass]]) -> DryRun:
    """A dry run's plan: where every row would go, and the passes counted with the model's tokenizer."""
    assert prepared.role is not None
    plan = DryRun.of(prepared)
    plan.bad_rows = prepared.bad_rows
    counter, plan.tokens = counter_for(prepared.role)
    plan.passes = passes(counter)
    return plan


def counter_for(role: Role) -> tuple[TokenCounter | None, str]:
    """The tokenizer of the model the run would load; none on servers (the run would not load it either)."""
    if role.tokenizer is None:
        return None, "not counted: with --server the model's tokenizer lives on the servers (checked, not asked)"
    counter = role.tokenizer(role.path)
    return counter, str(getattr(counter, "label", type(counter).__name__))


def plan_table(plan: DryRun) -> Table:
    """A dry run's plan: where every row would go, then requests and prompt tokens per pass."""
    table = summary_grid(f"{plan.command} --dry-run (no engine built, no file written)")
    table.add_row("input", plan.input)
    table.add_row("rows in", str(plan.rows_in))
    table.add_row("already done", f"{plan.already_done} (in {plan.output})" if plan.already_done else "0")
    table.add_row("to do", str(plan.todo))
    table.add_row("dropped", counts(plan.dropped))
    table.add_row("quarantined", counts(plan.quarantined) + (f" → {plan.rejects}" if plan.quarantined else ""))
    if plan.torn_lines:
        table.add_row("torn lines", f"{plan.torn_lines} (the run would cut them off)")
    for step in plan.passes:
        prompt = (
            "" if step.prompt_tokens is None else f", {'' if step.exact else '≥ '}{step.prompt_tokens} prompt tokens"
        )
        table.add_row(f"pass {step.name}", f"{step.requests} requests{prompt}")
    total = plan.prompt_tokens
    exact = all(step.exact for step in plan.passes)
    table.add_row("prompt tokens", "n/a" if total is None else f"{'' if exact else '≥ '}{total}")
    table.add_row("counted by", plan.tokens)
    if not plan.todo:
        table.add_row("engine", "not needed: the run would load no model")
    return table
