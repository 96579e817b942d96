"""What Ray's errors mean to the replica engine (RayLink.fault): gone, the request's fault, or worth a retry."""

from __future__ import annotations

import pytest
from ray import exceptions

from cai.engines.ray import RayCluster, RayLink, check_resources
from cai.errors import EngineError, InputError

LINK = RayLink(handle=None, name="cai-x-0")


def test_a_dead_or_unavailable_actor_is_down() -> None:
    assert LINK.fault(exceptions.ActorDiedError())[0] == "down"
    assert LINK.fault(exceptions.ActorUnavailableError("connection lost", None))[0] == "down"


def test_an_engine_that_did_not_start_says_why() -> None:
    message = "The actor died because of an error raised in its creation task\n  File ...\nEngineError: no such model"
    kind, reason = LINK.fault(exceptions.RayActorError(error_msg=message, actor_init_failed=True))
    assert kind == "down" and reason == "its engine did not start: EngineError: no such model"


@pytest.mark.parametrize(
    ("cause", "kind"),
    [(ValueError("prompt too long"), "refused"), (EngineError("bad"), "refused"), (RuntimeError("boom"), "failed")],
)
def test_an_error_raised_in_the_actor_is_the_requests_fault_or_a_retry(cause: Exception, kind: str) -> None:
    error = exceptions.RayTaskError("generate", "Traceback ...", cause)
    found, reason = LINK.fault(error)
    assert found == kind and type(cause).__name__ in reason


def test_no_reply_in_time_is_worth_a_retry() -> None:
    assert LINK.fault(TimeoutError()) == ("failed", "no reply in time")


NODES = [{"Alive": True, "Resources": {"CPU": 4.0}}, {"Alive": True, "Resources": {"CPU": 4.0, "GPU": 1.0}}]


@pytest.mark.parametrize(
    ("replicas", "cpus", "gpus", "fits"),
    [(2, 4.0, 0.0, True), (1, 2.0, 1.0, True), (3, 4.0, 0.0, False), (1, 8.0, 0.0, False), (2, 1.0, 1.0, False)],
)
def test_replicas_no_node_can_hold_are_refused(
    monkeypatch: pytest.MonkeyPatch, replicas: int, cpus: float, gpus: float, fits: bool
) -> None:
    import ray

    monkeypatch.setattr(ray, "nodes", lambda: [*NODES, {"Alive": False, "Resources": {"CPU": 64.0}}])
    cluster = RayCluster("auto", replicas, cpus, gpus)
    if fits:
        check_resources(cluster)
    else:
        with pytest.raises(InputError, match=r"do not fit the cluster \(2 node\(s\), 8 CPUs, 1 GPUs\)"):
            check_resources(cluster)
