"""One engine at a time: each role (side A, side B, the judge) names a model, and a role whose model
is the one already loaded reuses it; otherwise the loaded one is closed before the next loads.

So the same model on both sides and as the judge loads once, and two different models never share
the memory of one machine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from cai.engines import Engine
from cai.revise.run import Progress
from cai.runs.preflight import EngineFactory
from cai.runs.tally import Tally


@dataclass(frozen=True)
class Role:
    """What one role runs on: the path vLLM loads (or the servers' URLs), its label, and how to build it."""

    path: str
    label: str
    factory: EngineFactory


class EngineSlot:
    def __init__(self, engine_args: Mapping[str, str], progress: Progress, summary: Tally):
        self.engine_args = engine_args
        self.progress = progress
        self.summary = summary
        self.role: Role | None = None
        self.engine: Engine | None = None
        self.loads = 0

    def use(self, role: Role) -> Engine:
        """The engine for this role: the loaded one if it runs the same model, else a freshly loaded one."""
        if (
            self.engine is not None
            and self.role is not None
            and (self.role.path, self.role.label)
            == (
                role.path,
                role.label,
            )
        ):
            return self.engine
        self.close()
        self.progress.note(f"loading {role.label}")
        started = time.perf_counter()
        self.engine = role.factory(role.path, self.engine_args, role.label)
        self.role = role
        self.loads += 1
        load_seconds = self.summary.load_seconds
        self.summary.engine_loaded(self.engine, load_seconds + time.perf_counter() - started)
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            engine, self.engine, self.role = self.engine, None, None
            engine.close()
