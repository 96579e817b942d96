"""A real two-node Ray cluster on this machine (Ray's own test utility: a head and a worker node).

Used by the real --ray tests (one cluster per test session, tests/conftest.py) and bench/ray_replicas.py.
Every address stays on loopback: the nodes listen on 127.0.0.1, and RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
keeps Ray from turning 127.0.0.1 into this machine's network address when a driver connects. Nodes
detect a lost node within a few seconds (health checks every second instead of every three, three
misses instead of five), so a replica on a removed node is restarted sooner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.integration.served import IN_PROCESS_ENGINE_ENV

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
NODE_CPUS = 2
FAST_NODE_DEATH = {
    "health_check_initial_delay_ms": 1000,
    "health_check_period_ms": 1000,
    "health_check_timeout_ms": 1000,
    "health_check_failure_threshold": 3,
}


@dataclass
class RayTestCluster:
    cluster: Any  # ray.cluster_utils.Cluster
    workers: list[Any] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def add_worker(self) -> Any:
        with _clean_env():
            node = self.cluster.add_node(num_cpus=NODE_CPUS, node_ip_address="127.0.0.1")
        self.workers.append(node)
        return node

    def lose_worker(self) -> None:
        """The worker node dies without grace (every process of it SIGKILLed), as a machine that fails."""
        node = self.workers.pop()
        self.cluster.remove_node(node, allow_graceful=False)

    def shutdown(self) -> None:
        self.cluster.shutdown()


def start_cluster() -> RayTestCluster:
    os.environ.update(LOOPBACK_ENV)  # for this process and every cai run it starts; Ray reads it when first imported
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and constants.ENABLE_RAY_CLUSTER:
        raise RuntimeError("Ray was imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: it would leave loopback")
    from ray.cluster_utils import Cluster

    head = {"num_cpus": NODE_CPUS, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    with _clean_env():
        cluster = Cluster(initialize_head=True, head_node_args={**head, "_system_config": FAST_NODE_DEATH})
    started = RayTestCluster(cluster)
    try:
        started.add_worker()
    except BaseException:
        started.shutdown()
        raise
    return started


@contextmanager
def _clean_env() -> Iterator[None]:
    """Nodes (and the replicas they start) must not inherit what an in-process engine in this process set."""
    saved = {key: os.environ.pop(key) for key in IN_PROCESS_ENGINE_ENV if key in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
