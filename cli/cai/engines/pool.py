"""Which server gets a request: a record stays on one server, new records go to the least-loaded one.

A server that fails `eject_after` times in a row (timeouts, refused or dropped connections, 5xx,
replies that are not vLLM's) is taken out for the rest of the run; its requests go to the others.
Everything here runs on the engine's event-loop thread, so it needs no locks.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

AFFINITY_MEMORY = 4096  # records remembered for stickiness: bounded, so memory stays flat on long runs


@dataclass
class Server:
    url: str
    cap: int
    busy: int = 0  # requests sent and not yet answered
    waiting: int = 0  # requests assigned here, waiting for a free slot
    failures: int = 0  # in a row; a success resets it
    served: int = 0
    alive: bool = True
    last_error: str = ""
    slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.cap)

    @property
    def load(self) -> float:
        return (self.busy + self.waiting) / self.cap


class NoServerLeft(Exception):
    """Every server was taken out."""


@dataclass
class Pool:
    servers: list[Server]
    eject_after: int = 3
    _affinity: OrderedDict[int, Server] = field(default_factory=OrderedDict)

    def pick(self, affinity: int | None, avoid: Server | None = None) -> Server:
        """The record's server while it is alive (and not `avoid`), else the least-loaded live one."""
        alive = [s for s in self.servers if s.alive]
        if not alive:
            raise NoServerLeft(self.describe_failures())
        if affinity is not None:
            known = self._affinity.get(affinity)
            if known is not None and known.alive and known is not avoid:
                self._affinity.move_to_end(affinity)
                return known
        candidates = [s for s in alive if s is not avoid] or alive
        chosen = min(candidates, key=lambda s: (s.load, s.served))
        if affinity is not None:
            self._affinity[affinity] = chosen
            self._affinity.move_to_end(affinity)
            while len(self._affinity) > AFFINITY_MEMORY:
                self._affinity.popitem(last=False)
        return chosen

    def succeeded(self, server: Server) -> None:
        server.failures = 0
        server.served += 1

    def failed(self, server: Server, error: str) -> bool:
        """Count a failure; True when it took the server out."""
        server.failures += 1
        server.last_error = error
        if server.alive and server.failures >= self.eject_after:
            server.alive = False
            return True
        return False

    def describe_failures(self) -> str:
        return "; ".join(f"{s.url}: {s.last_error or 'taken out'}" for s in self.servers)
