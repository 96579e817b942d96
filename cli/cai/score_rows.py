"""The row shapes `cai score` reads, detected per row, and what it adds to them.

A row is passed through unchanged (any other keys stay), so `cai revise | cai score` works and a
user's metadata survives. Only the keys below are read:

- prompt (a string or a list of chat turns; `messages` is accepted too), and one of
- `response` — pointwise rubric scores;
- `chosen` + `rejected` (TRL string or conversational form) — pairwise, with a known preferred side;
- `response_a` + `response_b` — pairwise, unlabelled;
- `responses` (2–16 strings) — every pair compared, best vs worst emitted as chosen/rejected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from cai.engines import Message
from cai.records import BadRow, ChatMessage

Kind = Literal["pointwise", "pairwise", "rank"]
MAX_RANKED = 16
_TURNS = TypeAdapter(tuple[ChatMessage, ...])


@dataclass(frozen=True)
class ScoreRow:
    data: dict[str, Any]
    kind: Kind
    conversation: tuple[Message, ...]
    responses: tuple[str, ...]
    labelled: bool  # responses[0] is the side the input says is preferred (chosen)
    conversational: bool  # the prompt was a list of turns: emit chosen/rejected as turns too


def read_score_row(data: dict[str, Any]) -> ScoreRow:
    conversation, conversational = _conversation(data)
    shapes = [name for name in ("response", "chosen", "response_a", "responses") if name in data]
    if len(shapes) != 1:
        found = ", ".join(shapes) or "none"
        raise BadRow(
            "invalid_row",
            "give exactly one response shape: response | chosen+rejected | response_a+response_b | responses "
            f"(found: {found})",
        )
    shape = shapes[0]
    if shape == "response":
        return ScoreRow(data, "pointwise", conversation, (_text(data, "response"),), False, conversational)
    if shape == "chosen":
        pair = (_text(data, "chosen"), _text(data, "rejected"))
        return ScoreRow(data, "pairwise", conversation, pair, True, conversational)
    if shape == "response_a":
        pair = (_text(data, "response_a"), _text(data, "response_b"))
        return ScoreRow(data, "pairwise", conversation, pair, False, conversational)
    responses = data["responses"]
    if not isinstance(responses, list) or not 2 <= len(responses) <= MAX_RANKED:
        raise BadRow("invalid_row", f"responses: expected a list of 2 to {MAX_RANKED} strings")
    texts = tuple(_text({"responses[i]": item}, "responses[i]") for item in responses)
    return ScoreRow(data, "rank", conversation, texts, False, conversational)


def _conversation(data: dict[str, Any]) -> tuple[tuple[Message, ...], bool]:
    names = [name for name in ("prompt", "messages") if name in data]
    if len(names) != 1:
        raise BadRow("invalid_row", "give exactly one of 'prompt' (a string or a list of chat turns) or 'messages'")
    value = data[names[0]]
    if isinstance(value, str):
        if not value.strip():
            raise BadRow("invalid_row", f"{names[0]}: is blank")
        return ({"role": "user", "content": value},), False
    try:
        turns = _TURNS.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRow("invalid_row", f"{names[0]}[{where}]: {first['msg']}") from None
    if not turns or turns[-1].role != "user":
        raise BadRow("invalid_row", f"{names[0]}: a conversation must end with a user turn")
    return tuple(t.model_dump() for t in turns), True


def _text(data: dict[str, Any], name: str) -> str:
    """A response as text: a string, or TRL's conversational form (assistant turns)."""
    if name not in data:
        raise BadRow("invalid_row", f"{name}: field required")
    value = data[name]
    if isinstance(value, list):
        try:
            turns = _TURNS.validate_python(value)
        except ValidationError:
            raise BadRow("invalid_row", f"{name}: expected a string or a list of chat turns") from None
        if not turns or any(t.role != "assistant" for t in turns):
            raise BadRow("invalid_row", f"{name}: a conversational response must be assistant turns")
        value = "\n\n".join(t.content for t in turns)
    if not isinstance(value, str) or not value.strip():
        raise BadRow("invalid_row", f"{name}: expected a non-empty string")
    return value


@dataclass(frozen=True)
class Scored:
    """A validated input row with its key."""

    line: int
    row: ScoreRow
    key: str

    def raw(self) -> bytes:
        return json.dumps(self.row.data, ensure_ascii=False).encode()
