"""What Ray's errors mean to the replica engine (RayLink.fault): gone, the request's fault, or worth a retry."""

from __future__ import annotations

import pytest
from ray import exceptions

from cai.engines.ray import RayLink
from cai.errors import EngineError

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
