"""The wire format on its own: request bodies, replies that are not vLLM's, version strings."""

from __future__ import annotations

import pytest

from cai.engines import Request
from cai.engines.http import BadReply, chat_body, to_generation, version_tuple

PLAIN = Request(messages=({"role": "user", "content": "hi"},), max_tokens=8, temperature=0.5, top_p=0.9)


def test_a_plain_request_sends_only_what_it_needs() -> None:
    body = chat_body(PLAIN, "m")
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 8,
        "temperature": 0.5,
        "top_p": 0.9,
        "add_generation_prompt": True,
        "continue_final_message": False,
        "stream": False,
    }


def test_a_reply_without_usage_is_bad() -> None:
    with pytest.raises(BadReply, match="usage"):
        to_generation({"choices": [{"message": {"content": "x"}}]}, PLAIN)


def test_cached_tokens_come_from_the_usage_details() -> None:
    reply = {
        "choices": [{"message": {"content": None}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 8, "prompt_tokens_details": {"cached_tokens": 6}},
    }
    generation = to_generation(reply, PLAIN)
    assert (generation.text, generation.finish_reason, generation.cached_tokens) == ("", "length", 6)
    reply["usage"] = {"prompt_tokens": 10, "completion_tokens": 8, "prompt_tokens_details": None}  # flag off
    assert to_generation(reply, PLAIN).cached_tokens == 0


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("0.32.0", (0, 32, 0)), ("0.11.0rc2", (0, 11, 0)), ("0.10.2.dev5+gabc", (0, 10, 2)), ("dev", ())],
)
def test_version_strings(text: str, parsed: tuple[int, ...]) -> None:
    assert version_tuple(text) == parsed
