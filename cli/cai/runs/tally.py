"""Run counts every model-running command shares: every input row is counted exactly once.

rows_in = already_done + rows_out + dropped + quarantined, whatever the command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cai.engines.events import StageDone
from cai.io.records import Reject

if TYPE_CHECKING:
    from cai.engines.protocol import Engine


class Verdict(Protocol):
    """What the reliability figures need of a pairwise verdict (cai.judge.pairwise.PairVerdict)."""

    @property
    def margin(self) -> float: ...

    @property
    def position_consistent(self) -> bool: ...


@dataclass
class Tally:
    rows_in: int = 0
    already_done: int = 0
    torn_lines: int = 0  # a crash's torn last lines, cut off before this run appended
    dropped: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    length_stops: int = 0
    pair_judgements: int = 0
    position_consistent: int = 0
    abs_margin_total: float = 0.0
    load_seconds: float = 0.0
    dtype: str = ""  # what the engine ran in, and why (the CPU's bf16 support, or -E dtype=...)
    dtype_reason: str = ""
    wall_seconds: float = 0.0
    output: str = "<stdout>"
    rejects: str = ""
    # the engine's servers or replicas, read when the summary is shown (they keep counting until the run ends)
    _backends: Callable[[], list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)

    @property
    def rows_out(self) -> int:
        raise NotImplementedError

    @property
    def rejected(self) -> int:
        return sum(self.dropped.values()) + sum(self.quarantined.values())

    def engine_loaded(self, engine: Engine, load_seconds: float) -> None:
        self.load_seconds = load_seconds
        self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason
        self._backends = getattr(engine, "backends_report", None)

    def backends(self) -> list[dict[str, Any]]:
        """Each server's or replica's part in the run (placement, requests, restarts); empty in-process."""
        return self._backends() if self._backends is not None else []

    def count(self, entry: Reject) -> None:
        (self.dropped if entry.kind == "dropped" else self.quarantined)[entry.reason] += 1

    def add(self, event: StageDone) -> None:
        self.prompt_tokens += event.prompt_tokens
        self.output_tokens += event.output_tokens
        self.cached_tokens += event.cached_tokens
        self.length_stops += event.length_stops

    @property
    def prefix_cache_rate(self) -> float:
        """Share of prompt tokens vLLM's prefix cache served instead of computing."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def observe(self, verdict: Verdict) -> None:
        """One pairwise judgement, for the judge's reliability figures."""
        self.pair_judgements += 1
        self.position_consistent += verdict.position_consistent
        self.abs_margin_total += abs(verdict.margin)

    def judge_figures(self) -> dict[str, float | None]:
        judged = self.pair_judgements
        return {
            "position_consistency_rate": round(self.position_consistent / judged, 4) if judged else None,
            "mean_abs_margin": round(self.abs_margin_total / judged, 4) if judged else None,
        }

    def as_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs and so miscounts it
        counts = {
            name: dict(value) if isinstance(value, Counter) else value
            for name, value in vars(self).items()
            if not name.startswith("_")
        }
        if self._backends is not None:
            counts["backends"] = self.backends()
        return counts


@dataclass
class GenerationTally(Tally):
    """A generating command's counts (revise, sample), and how long it generated: its summary's speed."""

    generate_seconds: float = 0.0
