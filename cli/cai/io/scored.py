"""The rows `cai score` reads (their shape detected per row) and writes (the row plus a `scores` object).

A row is passed through unchanged (any other keys stay), so `cai revise | cai score` works and a
user's metadata survives. Only the keys below are read:

- prompt (a string or a list of chat turns; `messages` is accepted too), and one of
- `response` — pointwise rubric scores;
- `chosen` + `rejected` (TRL string or conversational form) — pairwise, with a known preferred side;
- `response_a` + `response_b` — pairwise, unlabelled;
- `responses` (2–16 strings) — every pair compared, best vs worst emitted as chosen/rejected;
- or, with neither prompt nor messages, hh-rlhf's `chosen` + `rejected` transcripts — a labelled pair.

`--mode` forces one kind: the row is read through that kind's fields only, and a row without them is
quarantined (`mode_mismatch`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from cai.engines.protocol import Message
from cai.io import hh
from cai.io.keys import pair_key
from cai.io.pairs import flipped
from cai.io.records import BadRow, ChatMessage, Item

Kind = Literal["pointwise", "pairwise", "rank"]
Mode = Literal["auto", "pointwise", "pairwise", "ranked"]
MODES: tuple[str, ...] = ("auto", "pointwise", "pairwise", "ranked")
PairsMode = Literal["best-worst", "all", "adjacent"]  # what a ranked row becomes (--pairs)
SHAPES = {"pointwise": ("response",), "pairwise": ("chosen", "response_a"), "ranked": ("responses",)}
NEEDS = {"pointwise": "response", "pairwise": "chosen+rejected or response_a+response_b", "ranked": "responses"}
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

    def as_json(self) -> dict[str, Any]:
        return self.data


def read_score_row(data: dict[str, Any], mode: Mode = "auto") -> ScoreRow:
    if hh.is_transcript_row(data):
        return _transcripts(data, mode)
    conversation, conversational = _conversation(data)
    present = [name for name in ("response", "chosen", "response_a", "responses") if name in data]
    shapes = present if mode == "auto" else [name for name in present if name in SHAPES[mode]]
    if mode != "auto" and not shapes:
        has = ", ".join(present) or "no response field"
        raise BadRow("mode_mismatch", f"--mode {mode} reads {NEEDS[mode]}; the row has {has}")
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


def _transcripts(data: dict[str, Any], mode: Mode) -> ScoreRow:
    """hh-rlhf's two transcripts: the turns they share, then chosen vs rejected (a labelled pair)."""
    if mode not in ("auto", "pairwise"):
        raise BadRow("mode_mismatch", f"--mode {mode} reads {NEEDS[mode]}; the row has hh-rlhf transcripts (pairwise)")
    turns, chosen, rejected = hh.labelled_pair(data)
    try:
        conversation = tuple(turn.model_dump() for turn in _TURNS.validate_python(turns))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRow("invalid_transcript", f"chosen: turn {where}: {first['msg']}") from None
    return ScoreRow(data, "pairwise", conversation, (chosen, rejected), True, False)


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


Scored = Item[ScoreRow]


def key_of(row: dict[str, Any]) -> str:
    """The key a score (or eval) output row carries: what a resumed run reads back.

    A ranked row's pair rows (--pairs all|adjacent) are one group: only its last row carries the ranked
    row's key, so a group a crash cut short is not done (its rows are cut off: `torn_group`) and is redone.
    """
    group = _group_of(row)
    if group is not None and group["pair"] == group["pairs"] - 1:
        return str(group["key"])
    return str(row["scores"]["key"])


def pair_rows(
    item: Scored, stamp: dict[str, Any], win_rate: list[float], selected: list[dict[str, Any]], mode: str
) -> list[dict[str, Any]]:
    """A ranked row as one row per selected pair (--pairs all|adjacent), each what TRL reads as a preference row.

    `selected` are entries of the ranked scores' `pairs` ({"a": i, "b": j, verdict}). chosen is the side the
    judge prefers in that pair's own comparison (a on a tie), and the verdict is turned so that a = chosen:
    `p_a` is the soft label P(chosen better), `margin` = 2·p_a − 1. The input row's other fields pass
    through; its `responses` are replaced by the pair.
    """
    base = {name: value for name, value in item.row.data.items() if name not in ("responses", "scores")}
    rows = []
    for index, entry in enumerate(selected):
        first, second = entry["a"], entry["b"]
        verdict = {name: value for name, value in entry.items() if name not in ("a", "b")}
        chosen, rejected = (first, second) if verdict["p_a"] >= 0.5 else (second, first)
        judged = verdict if chosen == first else flipped(verdict)
        group = {"key": item.key, "chosen": chosen, "rejected": rejected, "pair": index, "pairs": len(selected)}
        scores = {"key": pair_key(item.key, first, second), "kind": "pair", **stamp, **judged}
        group.update(mode=mode, win_rate=win_rate)
        rows.append({**base, **ranked_sides(item, chosen, rejected), "scores": {**scores, "ranked": group}})
    return rows


def ranked_sides(item: Scored, chosen: int, rejected: int) -> dict[str, Any]:
    """chosen/rejected as a ranked row's responses i and j: assistant turns when the prompt is turns."""
    texts = item.row.responses[chosen], item.row.responses[rejected]
    if item.row.conversational:
        return {
            name: [{"role": "assistant", "content": text}]
            for name, text in zip(("chosen", "rejected"), texts, strict=True)
        }
    return dict(zip(("chosen", "rejected"), texts, strict=True))


def torn_group(lines: Sequence[bytes]) -> int:
    """How many of an output's last lines are a ranked row's pair rows that a crash cut short (0: none).

    A group is written as one piece (cai.runs.harness.Sink.group), so only the file's end can hold one.
    """
    groups = [_group(line) for line in lines]
    if not groups or groups[-1] is None or groups[-1]["pair"] == groups[-1]["pairs"] - 1:
        return 0
    key = groups[-1]["key"]
    cut = 0
    for group in reversed(groups):
        if group is None or group["key"] != key:
            break
        cut += 1
    return cut


def _group(line: bytes) -> dict[str, Any] | None:
    return _group_of(json.loads(line))


def _group_of(row: dict[str, Any]) -> dict[str, Any] | None:
    """A pair row's place in its ranked row's group ({"key", "pair", "pairs", ...}), else None."""
    scores = row.get("scores") or {}
    group = scores.get("ranked") if scores.get("kind") == "pair" else None
    return group if isinstance(group, dict) else None


def scored_row(
    item: Scored, stamp: dict[str, Any], scores: dict[str, Any], extra: dict[str, Any] | None
) -> dict[str, Any]:
    """The input row unchanged, plus `extra` columns (a ranked row's chosen/rejected) and the `scores` object."""
    stamped = {"key": item.key, "kind": item.row.kind, **stamp, **scores}
    return {**item.row.data, **(extra or {}), "scores": stamped}
