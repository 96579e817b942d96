"""Judged rows of every shape and source cai reads (cai.io.pairs, cai.io.sources) as the facts review sampling needs.

Sampling needs the conversation, the two responses, the judge's P(a better) when there is one, whether
both orders agreed, and a principle to stratify by. Side `a` is the row's preferred side (chosen; revise:
the final revision; a ranked row's best, reviewed against its worst: the pair it trains on) or
`response_a`. A row without a verdict (revise without `--judge`, a plain TRL pair) has the implicit label
"a is better".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.io.lines import label_of
from cai.io.pairs import Pair, Pointwise
from cai.io.records import Reject
from cai.io.sources import read_pairs

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


def read_judged(path: Path, split: str | None = None) -> JudgedFile:
    """Read a whole source (JSONL or `-`, CSV, Parquet, a dataset folder); a malformed row stops with file:line
    and field, since sampling must see every row."""
    result = JudgedFile(path)
    source = str(path)
    if source != "-" and not path.exists():
        raise InputError(f"cannot read {path}: no such file or folder")
    seen: set[str] = set()
    for item in read_pairs(source, split):
        if isinstance(item, Reject):
            raise InputError(f"{label_of(source)}:{item.line}: {item.detail}")
        if isinstance(item, Pointwise):
            result.skipped["pointwise"] += 1
            continue
        pair = judged_pair(item)
        if pair.key in seen:
            pair = replace(pair, key=f"{pair.key}#{pair.line}")
        seen.add(pair.key)
        result.pairs.append(pair)
    return result


def judged_pair(pair: Pair) -> JudgedPair:
    judged = pair.verdict
    p_a = None if judged is None else float(judged["p_a"])
    consistent = None if judged is None else judged.get("position_consistent")
    key = pair.key or f"line-{pair.line}"
    return JudgedPair(key, pair.line, pair.conversation, pair.a, pair.b, p_a, consistent, _principle(pair, judged))


def _principle(pair: Pair, judged: dict[str, Any] | None) -> str:
    """Revise rows: the first round's principle (it made the revision); else the judge's first principle."""
    if pair.rounds and pair.rounds[0].principle:
        return str(pair.rounds[0].principle)
    principles = judged.get("principles") if judged is not None else None
    if isinstance(principles, list) and principles and isinstance(principles[0], dict):
        return str(principles[0].get("principle") or NO_PRINCIPLE)
    return NO_PRINCIPLE
