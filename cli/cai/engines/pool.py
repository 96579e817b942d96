"""Which backend gets a request: a record stays on one backend, new records go to the least-loaded one.

A backend is a vLLM server (`cai.engines.server`) or a replica on a Ray cluster (`cai.engines.replicas`).
One that fails `eject_after` times in a row (timeouts, refused or dropped connections, 5xx, replies that
are not vLLM's), or is known to be down (a dead Ray actor), is taken out; its requests go to the others.
A backend taken out is probed again after a wait that doubles (1 s up to 30 s) and re-admitted once it
answers: a restarted server or replica takes work again. When every backend is out, the run waits up to
`give_up_after` seconds for one to come back before it stops (NoServerLeft).
Everything here runs on one thread (the server engine's event loop, the replica engine's caller), so it
needs no locks.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

AFFINITY_MEMORY = 4096  # records remembered for stickiness: bounded, so memory stays flat on long runs


@dataclass
class Backend:
    name: str  # a server's URL, a replica's actor name
    cap: int  # requests in flight at once
    busy: int = 0  # requests sent and not yet answered
    waiting: int = 0  # requests assigned here, waiting for a free slot
    failures: int = 0  # in a row; a success resets it
    served: int = 0
    alive: bool = True
    last_error: str = ""
    taken_out: int = 0  # times taken out during the run
    readmitted: int = 0  # times it answered again after being taken out
    served_since_readmitted: int = 0
    restarts: int = 0  # a replica's restarts seen (a new process answering under its name)
    placement: str = ""  # where it runs, when the backend says (a replica's node)
    kind: str = "server"  # or "replica": how the summary names it
    out_since: float = 0.0
    next_probe: float = math.inf  # when to ask a taken-out backend again
    probe_wait: float = 0.0
    slots: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.cap)

    @property
    def load(self) -> float:
        return (self.busy + self.waiting) / self.cap

    def report(self) -> dict[str, Any]:
        """What the summary and the manifest say about this backend."""
        return {
            "kind": self.kind,
            "name": self.name,
            "placement": self.placement,
            "requests": self.served,
            "taken_out": self.taken_out,
            "readmitted": self.readmitted,
            "requests_since_readmitted": self.served_since_readmitted,
            "restarts": self.restarts,
            "alive": self.alive,
        }


class NoServerLeft(Exception):
    """Every backend was taken out and none came back in time."""


@dataclass(frozen=True)
class Readmission:
    first_wait: float = 1.0  # seconds before a taken-out backend is first asked again
    max_wait: float = 30.0  # the wait doubles up to this
    give_up_after: float = 60.0  # with every backend out, stop after this long without one coming back


DEFAULT_READMISSION = Readmission()


@dataclass
class Pool:
    backends: list[Backend]
    eject_after: int = 3
    readmission: Readmission = DEFAULT_READMISSION
    clock: Callable[[], float] = time.monotonic
    _affinity: OrderedDict[int, Backend] = field(default_factory=OrderedDict)

    def pick(self, affinity: int | None, avoid: Backend | None = None) -> Backend:
        """The record's backend while it is alive (and not `avoid`), else the least-loaded live one."""
        alive = [s for s in self.backends if s.alive]
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

    def succeeded(self, server: Backend) -> None:
        server.failures = 0
        server.served += 1
        if server.readmitted:
            server.served_since_readmitted += 1

    def failed(self, server: Backend, error: str) -> bool:
        """Count a failure; True when it took the backend out."""
        server.failures += 1
        server.last_error = error
        if server.alive and server.failures >= self.eject_after:
            self._take_out(server)
            return True
        return False

    def down(self, server: Backend, error: str) -> bool:
        """The backend is known to be down (its process died): out at once. True when it was alive until now."""
        server.last_error = error
        if not server.alive:
            return False
        self._take_out(server)
        return True

    def _take_out(self, server: Backend) -> None:
        """Out until a probe finds it answering; one that failed again before serving a request since its
        last re-admission (it answers probes but not requests) waits twice as long as last time."""
        flapping = server.readmitted and not server.served_since_readmitted
        server.alive = False
        server.taken_out += 1
        server.out_since = self.clock()
        first = self.readmission.first_wait
        server.probe_wait = min(server.probe_wait * 2, self.readmission.max_wait) if flapping else first
        server.next_probe = server.out_since + server.probe_wait

    def due(self) -> list[Backend]:
        """Backends taken out whose next probe is due; each is marked as being probed (call probe_failed or
        readmit with the answer)."""
        now = self.clock()
        found = [s for s in self.backends if not s.alive and s.next_probe <= now]
        for server in found:
            server.next_probe = math.inf
        return found

    def next_probe_in(self) -> float:
        """Seconds until the next probe is due (inf when none is waiting)."""
        waits = [s.next_probe for s in self.backends if not s.alive]
        return max(0.0, min(waits) - self.clock()) if waits else math.inf

    def probe_failed(self, server: Backend, error: str) -> None:
        server.last_error = error
        server.probe_wait = min(server.probe_wait * 2, self.readmission.max_wait)
        server.next_probe = self.clock() + server.probe_wait

    def readmit(self, server: Backend) -> float:
        """Back in the pool; the seconds it was out."""
        server.alive = True
        server.failures = 0
        server.readmitted += 1
        server.served_since_readmitted = 0
        server.next_probe = math.inf
        return self.clock() - server.out_since

    def gave_up(self) -> bool:
        """Every backend is out, and the last of them went out longer ago than the pool waits."""
        if any(s.alive for s in self.backends):
            return False
        last_out = max(s.out_since for s in self.backends)
        return self.clock() - last_out > self.readmission.give_up_after

    @property
    def live(self) -> int:
        return sum(s.alive for s in self.backends)

    def describe_failures(self) -> str:
        return "; ".join(f"{s.name}: {s.last_error or 'taken out'}" for s in self.backends)

    def report(self) -> list[dict[str, Any]]:
        return [server.report() for server in self.backends]
