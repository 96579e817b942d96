"""Judged rows of every shape (`cai score` pairwise, `cai revise` with or without `--judge`) as one dataclass.

Sampling needs the same few facts from each shape: the conversation, the two responses, the
judge's P(a better) when there is one, whether both orders agreed, and a principle to stratify by.
Side `a` is the judge's a: `chosen` (revise: the final revision) or `response_a`; `b` is `rejected`
(revise: the initial response) or `response_b`. A revise row without `--judge` has no verdict; its
implicit label is "a (chosen) is better".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai.errors import InputError

NO_PRINCIPLE = "(none)"


@dataclass(frozen=True)
class JudgedPair:
    """One pair to review, with what the judge said about it (None: no verdict in the row)."""

    key: str
    line: int
    conversation: tuple[dict[str, str], ...]
    a: str
    b: str
    p_a: float | None
    position_consistent: bool | None
    principle: str


@dataclass
class JudgedFile:
    """Every usable pair of a file, and how many rows were skipped for what reason."""

    path: Path
    pairs: list[JudgedPair] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class RowError(ValueError):
    """A row that is not a judged pair; `field` names what is wrong."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}")


def read_judged(path: Path) -> JudgedFile:
    """Read a whole file; a malformed row stops with file:line and field, since sampling must see every row."""
    result = JudgedFile(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise RowError("row", f"expected a JSON object, got {type(data).__name__}")
            pair = judged_pair(data, number)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        except RowError as exc:
            raise InputError(f"{path}:{number}: {exc}") from None
        if isinstance(pair, str):
            result.skipped[pair] += 1
            continue
        if pair.key in seen:
            pair = JudgedPair(**{**pair.__dict__, "key": f"{pair.key}#{number}"})
        seen.add(pair.key)
        result.pairs.append(pair)
    return result


def judged_pair(data: dict[str, Any], line: int) -> JudgedPair | str:
    """The pair in a row, or the reason the row is skipped ('rank', 'pointwise')."""
    scores = data.get("scores")
    kind = scores.get("kind") if isinstance(scores, dict) else None
    if kind in ("rank", "pointwise"):
        return str(kind)
    cai = data.get("cai")
    provenance: dict[str, Any] = cai if isinstance(cai, dict) else {}
    verdict = scores if isinstance(scores, dict) else provenance.get("judge")
    names = ("chosen", "rejected") if "chosen" in data else ("response_a", "response_b")
    a, b = _text(data, names[0]), _text(data, names[1])
    p_a, consistent = _verdict(verdict)
    key = (scores.get("key") if isinstance(scores, dict) else None) or provenance.get("key") or f"line-{line}"
    return JudgedPair(str(key), line, _conversation(data), a, b, p_a, consistent, _principle(provenance, verdict))


def _verdict(verdict: Any) -> tuple[float | None, bool | None]:
    if verdict is None:
        return None, None
    if not isinstance(verdict, dict):
        raise RowError("judge", "expected a verdict object")
    p_a = verdict.get("p_a")
    if isinstance(p_a, bool) or not isinstance(p_a, int | float) or not 0 <= p_a <= 1:
        raise RowError("p_a", f"expected a probability in [0, 1], got {p_a!r}")
    consistent = verdict.get("position_consistent")
    if consistent is not None and not isinstance(consistent, bool):
        raise RowError("position_consistent", f"expected true or false, got {consistent!r}")
    return float(p_a), consistent


def _principle(provenance: dict[str, Any], verdict: Any) -> str:
    """Revise rows: the first round's principle (it made the revision); else the judge's first principle."""
    rounds = provenance.get("rounds")
    if isinstance(rounds, list) and rounds and isinstance(rounds[0], dict) and rounds[0].get("principle"):
        return str(rounds[0]["principle"])
    principles = verdict.get("principles") if isinstance(verdict, dict) else None
    if isinstance(principles, list) and principles and isinstance(principles[0], dict):
        return str(principles[0].get("principle") or NO_PRINCIPLE)
    return NO_PRINCIPLE


def _conversation(data: dict[str, Any]) -> tuple[dict[str, str], ...]:
    name = "prompt" if "prompt" in data else "messages"
    value = data.get(name)
    if isinstance(value, str) and value.strip():
        return ({"role": "user", "content": value},)
    if isinstance(value, list) and value:
        return tuple(_turn(name, index, turn) for index, turn in enumerate(value))
    raise RowError(name, "expected a prompt string or a list of chat turns")


def _turn(name: str, index: int, turn: Any) -> dict[str, str]:
    if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) or not isinstance(turn.get("content"), str):
        raise RowError(f"{name}[{index}]", "expected {'role': ..., 'content': ...}")
    return {"role": turn["role"], "content": turn["content"]}


def _text(data: dict[str, Any], name: str) -> str:
    """A response as text: a string, or TRL's conversational form (its turns joined)."""
    if name not in data:
        raise RowError(name, "field required (expected chosen/rejected or response_a/response_b)")
    value = data[name]
    if isinstance(value, list):
        value = "\n\n".join(_turn(name, i, turn)["content"] for i, turn in enumerate(value))
    if not isinstance(value, str) or not value.strip():
        raise RowError(name, "expected a non-empty string or a list of chat turns")
    return value
