"""What ReplicaEngine (cai.engines.replicas) works with: the Link protocol (one replica's calls as futures) and what
a failed call means, the engine's settings, and the records it keeps of calls, probes and waiting requests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cai.engines.pool import Backend, Readmission
from cai.engines.protocol import Generation, Message, Request


@dataclass(frozen=True)
class ReplicaInfo:
    """What a replica says about itself: where it runs, which process, and the engine it holds."""

    name: str
    placement: str  # node address and id
    pid: int
    incarnation: str  # new each time the actor (re)starts: a changed one means Ray restarted it
    model_name: str
    max_model_len: int
    dtype: str
    dtype_reason: str
    load_seconds: float


Fault = Literal["down", "refused", "failed"]  # the replica is gone / the request's own fault / worth a retry
# a ping is cheap and a restart (node loss found, model reloaded) takes seconds to minutes: ask every 5 s at most,
# and with every replica out wait 5 minutes for one to come back
REPLICA_READMISSION = Readmission(first_wait=1.0, max_wait=5.0, give_up_after=300.0)


class Link(Protocol):
    """One replica as the driver sees it: every call returns a future."""

    name: str

    def generate(self, request: Request) -> Future[Generation]: ...

    def ping(self) -> Future[ReplicaInfo]: ...

    def prompt_tokens(self, messages: Sequence[Message]) -> Future[int]: ...

    def fault(self, error: BaseException) -> tuple[Fault, str]:
        """What a failed call means, and a one-line reason."""
        ...


@dataclass(frozen=True)
class ReplicaSettings:
    concurrency: int = 64  # requests in flight per replica; its engine batches them
    timeout: float = 600.0  # seconds for one reply before the call is given up and the request sent again
    retries: int = 4  # further attempts for one request, besides those a replica's death costs
    eject_after: int = 3  # failed calls in a row (not deaths: those take a replica out at once)
    backoff: float = 0.5  # first wait before retrying a failed call; doubles, with jitter
    start_timeout: float = 900.0  # for every replica to be placed and load its model
    probe_timeout: float = 60.0  # a ping unanswered this long counts as a failed probe
    readmission: Readmission = REPLICA_READMISSION


@dataclass
class Call:
    ticket: int
    request: Request
    tries: int = 0
    backend: Backend | None = None
    epoch: int = 0  # the backend's re-admissions when sent: a late failure from before a restart is stale
    sent: float = 0.0


@dataclass
class Probe:
    backend: Backend
    sent: float


@dataclass
class State:
    calls: dict[Future[Any], Call] = field(default_factory=dict)
    probes: dict[Future[Any], Probe] = field(default_factory=dict)
    parked: dict[str, deque[Call]] = field(default_factory=dict)  # waiting for a slot on that replica
    homeless: deque[Call] = field(default_factory=deque)  # every replica out: waiting for one to return
    later: list[tuple[float, int, Call]] = field(default_factory=list)  # retries after a backoff (a heap)
    finished: list[tuple[int, Generation]] = field(default_factory=list)
    held: list[tuple[int, Generation]] = field(default_factory=list)  # finished while `generate` waited
