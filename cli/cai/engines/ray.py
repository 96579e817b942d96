"""cai's engines on a Ray cluster: `--ray ADDRESS --replicas N` (docs/scale.md).

Each replica is a named Ray actor (`cai.engines.replica.ReplicaHost`) holding the engine an in-process
run builds; Ray places the replicas (spread over nodes), gives each its CPUs and GPUs, and restarts one
whose process or node dies (unlimited restarts). The driver side is `cai.engines.replicas.ReplicaEngine`;
this module connects to the cluster, starts and stops the actors, and turns Ray's calls and errors into
the futures and faults that engine reads. Ray (Core only: `pip install 'cai[ray]'`) is imported only here,
and only when a run uses it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import socket
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from cai.engines.links import Fault, ReplicaInfo, ReplicaSettings
from cai.engines.protocol import Engine, Generation, Message, Request
from cai.engines.replica import Factory, ReplicaHost
from cai.engines.replicas import ReplicaEngine
from cai.errors import EngineError, InputError

RAY_ENV = "CAI_RAY_ADDRESS"
NAMESPACE = "cai"
INSTALL = "pip install 'cai[ray]'"
Note = Callable[[str], None]


@dataclass(frozen=True)
class RayOptions:
    """--ray, --replicas, --replica-cpus, --replica-gpus as given (None: not given)."""

    address: str | None = None
    replicas: int | None = None
    cpus: float | None = None
    gpus: float | None = None

    def resolved(self, environ: Mapping[str, str] | None = None) -> RayCluster | None:
        """The cluster to run on (--ray, else CAI_RAY_ADDRESS), or None; InputError for bad values (exit 2)."""
        address = self.address or (os.environ if environ is None else environ).get(RAY_ENV, "").strip() or None
        if address is None:
            given = [flag for flag, value in self._sizes() if value is not None]
            if given:
                raise InputError(f"{given[0]} needs --ray ADDRESS (or {RAY_ENV})")
            return None
        if address not in ("auto", "local") and not re.fullmatch(r"[^\s:/]+:\d{1,5}", address):
            raise InputError(
                f"--ray {address!r}: expected HOST:PORT of a running cluster (ray start --head prints it), "
                "auto (a cluster already running on this machine) or local (start one for this run)"
            )
        if importlib.util.find_spec("ray") is None:
            raise InputError(f"--ray needs Ray, which is not installed in this environment: {INSTALL}")
        if address not in ("auto", "local"):
            _check_reachable(address)
        return RayCluster(address, self.replicas or 1, 1.0 if self.cpus is None else self.cpus, self.gpus or 0.0)

    def _sizes(self) -> list[tuple[str, object]]:
        return [("--replicas", self.replicas), ("--replica-cpus", self.cpus), ("--replica-gpus", self.gpus)]


@dataclass(frozen=True)
class RayCluster:
    address: str  # HOST:PORT, auto or local
    replicas: int
    cpus: float  # each replica's reservation
    gpus: float


def ray_engine_factory(
    cluster: RayCluster, engine_factory: Factory, embedded: bool, concurrency: int, note: Note
) -> Callable[[str, Mapping[str, str], str], Engine]:
    """An engine factory (as cai.preflight's) that starts the replicas, each building `engine_factory`'s engine."""

    def start(path: str, engine_args: Mapping[str, str], label: str) -> Engine:
        settings = ReplicaSettings(concurrency=concurrency)
        return start_replicas(cluster, engine_factory, path, engine_args, label, embedded, settings, note)

    return start


def start_replicas(
    cluster: RayCluster,
    engine_factory: Factory,
    path: str,
    engine_args: Mapping[str, str],
    label: str,
    embedded: bool,
    settings: ReplicaSettings,
    note: Note,
) -> ReplicaEngine:
    import ray

    connected_here = connect(cluster.address)
    handles: list[Any] = []

    def stop() -> None:
        for handle in handles:
            with contextlib.suppress(Exception):  # already gone, or the cluster is: nothing left to stop
                ray.kill(handle, no_restart=True)
        if connected_here:
            ray.shutdown()

    try:
        check_resources(cluster)
        run = uuid.uuid4().hex[:6]
        host = ray.remote(ReplicaHost)
        names = [f"cai-{run}-{number}" for number in range(cluster.replicas)]
        for name in names:
            options = actor_options(cluster, name, settings.concurrency)
            arguments = (engine_factory, path, dict(engine_args), label, name, embedded)
            handles.append(host.options(**options).remote(*arguments))
        where = "a local Ray instance" if cluster.address == "local" else f"the Ray cluster at {cluster.address}"
        note(f"starting {cluster.replicas} replica(s) of {label} on {where}")
        links = [RayLink(handle, name) for handle, name in zip(handles, names, strict=True)]
        return ReplicaEngine(links, settings, note, on_close=stop)
    except BaseException:
        stop()
        raise


def actor_options(cluster: RayCluster, name: str, concurrency: int) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": NAMESPACE,
        "num_cpus": cluster.cpus,
        "num_gpus": cluster.gpus,
        "max_restarts": -1,  # Ray restarts a replica whose process or node died, as often as it takes
        "max_task_retries": 0,  # cai re-sends a failed request itself, to whichever replica is alive
        "scheduling_strategy": "SPREAD",
        "max_concurrency": max(1000, 2 * concurrency + 16),  # in-flight requests, plus pings and counts
    }


def connect(address: str) -> bool:
    """Join the cluster (or start a local one); True when this call connected (so closing disconnects)."""
    import ray

    if ray.is_initialized():  # the caller (a test, a notebook) is connected already
        return False
    options: dict[str, Any] = {"namespace": NAMESPACE, "log_to_driver": False, "logging_level": logging.ERROR}
    if address == "local":
        options["include_dashboard"] = False
    try:
        ray.init(address=address, **options)
    except ConnectionError as exc:
        raise InputError(f"--ray {address}: cannot join the cluster ({str(exc).splitlines()[0]})") from None
    _messages_to_stderr()
    return True


def _check_reachable(address: str) -> None:
    """Something must listen at HOST:PORT: found before any file is written (Ray itself would retry for minutes)."""
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise InputError(
            f"--ray {address}: nothing answers there ({exc}); start the cluster (ray start --head) "
            "or give the address it printed"
        ) from None


def check_resources(cluster: RayCluster) -> None:
    """Refuse replicas that no node can hold (exit 2) rather than wait for them forever."""
    import ray

    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    fits = [n for n in nodes if n.get("CPU", 0) >= cluster.cpus and n.get("GPU", 0) >= cluster.gpus]
    total_cpus = sum(n.get("CPU", 0) for n in nodes)
    total_gpus = sum(n.get("GPU", 0) for n in nodes)
    enough = total_cpus >= cluster.replicas * cluster.cpus and total_gpus >= cluster.replicas * cluster.gpus
    if not fits or not enough:
        raise InputError(
            f"{cluster.replicas} replica(s) of {cluster.cpus:g} CPU and {cluster.gpus:g} GPU do not fit the cluster "
            f"({len(nodes)} node(s), {total_cpus:g} CPUs, {total_gpus:g} GPUs): "
            "lower --replicas, --replica-cpus or --replica-gpus, or add nodes"
        )


def _messages_to_stderr() -> None:
    """Ray's driver prints cluster messages ("a node was marked dead", with 20 lines of the raylet's log) on
    stdout, which carries cai's rows: print the first line of each on stderr instead (cai's own notes say
    what a lost replica means for the run). This replaces a private function of Ray's; a Ray without it
    changes nothing here."""
    from ray._private import worker

    if getattr(getattr(worker, "print_to_stdstream", None), "_cai", False) or not hasattr(worker, "print_to_stdstream"):
        return

    def first_lines(data: dict[str, Any], ignore_prefix: bool) -> None:
        for line in data.get("lines") or ():
            text = str(line).strip()
            if text:
                sys.stderr.write(f"ray: {text.splitlines()[0][:240]}\n")

    first_lines._cai = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = first_lines


class RayLink:
    """One replica's actor handle; each call's ObjectRef as a future."""

    def __init__(self, handle: Any, name: str):
        self.handle = handle
        self.name = name

    def generate(self, request: Request) -> Future[Generation]:
        return _future(lambda: self.handle.generate.remote(request))

    def ping(self) -> Future[ReplicaInfo]:
        return _future(lambda: self.handle.ping.remote())

    def prompt_tokens(self, messages: Sequence[Message]) -> Future[int]:
        return _future(lambda: self.handle.prompt_tokens.remote(list(messages)))

    def fault(self, error: BaseException) -> tuple[Fault, str]:
        from ray import exceptions

        lines = str(error).strip().splitlines() or [""]
        if isinstance(error, exceptions.RayActorError) and error.actor_init_failed:  # its engine did not start
            return "down", f"its engine did not start: {lines[-1][:240]}"
        if isinstance(error, exceptions.RayActorError | exceptions.NodeDiedError | exceptions.OutOfMemoryError):
            return "down", f"its process is gone: {type(error).__name__}"
        if isinstance(error, exceptions.RayTaskError):
            cause = error.cause
            reason = f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0][:160]}"
            return ("refused" if isinstance(cause, ValueError | TypeError | EngineError) else "failed"), reason
        if isinstance(error, TimeoutError):
            return "failed", "no reply in time"
        return "failed", f"{type(error).__name__}: {lines[0][:160]}"


def _future(call: Callable[[], Any]) -> Future[Any]:
    """The call's ObjectRef as a concurrent future; a call Ray refuses at once is a failed future."""
    try:
        return call().future()  # type: ignore[no-any-return]
    except Exception as exc:
        failed: Future[Any] = Future()
        failed.set_exception(exc)
        return failed
