"""Read the outputs of `cai revise` and `cai score` line by line into `RawPair`s, one row at a time.

A row's shape is recognised from what cai writes (docs/report.md lists them); anything else stops
the report with file:line and the reason (exit 2), because a figure computed over rows we do not
understand would be wrong without saying so. Nothing here keeps a row: each is parsed, turned into
one small `RawPair` (texts and the judge's numbers) and handed on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cai.errors import InputError

Verdict = dict[str, Any]


@dataclass(frozen=True)
class Round:
    principle: str | None
    revision_chars: int
    finish_reason: str | None
    critique_finish_reason: str | None


@dataclass
class RawPair:
    """One preference pair as read: a = chosen (the judge's option a), b = rejected."""

    where: str  # file:line
    source: str  # "revise" or "score"
    kind: str  # "revise", "pairwise" or "rank"
    id: str | None
    prompt: str
    a: str
    b: str
    verdict: Verdict | None = None
    writer: str | None = None  # the model that wrote the sides (cai.model of revise rows)
    judge: str | None = None  # the model that judged them
    finish_a: str | None = None
    finish_b: str | None = None
    rounds: list[Round] = field(default_factory=list)
    agrees_with_label: bool | None = None


@dataclass(frozen=True)
class Pointwise:
    """A pointwise-scored row: counted, not a pair."""

    where: str
    overall: float | None


def read_files(paths: list[str]) -> Iterator[RawPair | Pointwise]:
    """Every row of every file, in order; one kind of output (revise or score) across all of them."""
    first: tuple[str, str] | None = None
    for path in paths:
        seen = 0
        for where, data in _json_lines(path):
            seen += 1
            source = "score" if "scores" in data else "revise" if isinstance(data.get("cai"), dict) else None
            if source is None:
                raise InputError(f"{where}: unknown row shape: {_expected()} (got keys: {', '.join(data) or 'none'})")
            if first is None:
                first = (source, where)
            elif source != first[0]:
                raise InputError(
                    f"{where}: a `cai {source}` row, but {first[1]} is a `cai {first[0]}` row; "
                    "report one kind of output at a time (mixed files)"
                )
            yield _score_row(where, data) if source == "score" else _revise_row(where, data)
        if not seen:
            raise InputError(f"{path}: empty file: no rows to report on")


def _expected() -> str:
    return "expected a row written by `cai revise` (prompt, chosen, rejected, cai) or `cai score` (… scores)"


def _json_lines(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if path == "-":
        yield from _parse_lines("<stdin>", sys.stdin)
        return
    try:
        with Path(path).open(encoding="utf-8-sig") as handle:
            yield from _parse_lines(path, handle)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _parse_lines(label: str, handle: IO[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    number = 0
    try:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{label}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(data, dict):
                raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
            yield where, data
    except UnicodeDecodeError:
        raise InputError(f"{label}:{number + 1}: not UTF-8 text") from None


def _revise_row(where: str, data: dict[str, Any]) -> RawPair:
    cai = data["cai"]
    if not isinstance(cai.get("rounds"), list):
        raise InputError(f"{where}: cai.rounds: expected the list of rounds `cai revise` writes")
    pair = RawPair(
        where, "revise", "revise", _id(cai), _prompt(where, data), *_sides(where, data, "chosen", "rejected")
    )
    _provenance(where, pair, cai)
    if "judge" in cai:
        pair.verdict = _verdict(where, "cai.judge", cai["judge"])
        pair.judge = pair.writer
    return pair


def _score_row(where: str, data: dict[str, Any]) -> RawPair | Pointwise:
    scores = data["scores"]
    kind = scores.get("kind") if isinstance(scores, dict) else None
    if kind == "pointwise":
        overall = scores.get("overall")
        return Pointwise(where, float(overall) if isinstance(overall, int | float) else None)
    if kind not in ("pairwise", "rank"):
        raise InputError(f"{where}: scores.kind: expected pointwise, pairwise or rank, got {kind!r}")
    names = ("chosen", "rejected") if "chosen" in data else ("response_a", "response_b")
    a, b = _sides(where, data, *names)
    verdict = _verdict(where, "scores", scores) if kind == "pairwise" else _rank_verdict(where, scores)
    pair = RawPair(where, "score", kind, _id(data), _prompt(where, data), a, b, verdict)
    pair.judge = scores.get("model") if isinstance(scores.get("model"), str) else None
    label = scores.get("agrees_with_label")
    pair.agrees_with_label = label if isinstance(label, bool) else None
    if isinstance(data.get("cai"), dict):
        _provenance(where, pair, data["cai"])
    if isinstance(data.get("eval"), dict):
        _eval_provenance(pair, data["eval"])
    return pair


def _eval_provenance(pair: RawPair, info: dict[str, Any]) -> None:
    """A `cai eval` row: how each side's generation ended, and whether the judge wrote one of the sides."""
    sides = [side if isinstance(side := info.get(name), dict) else {} for name in ("a", "b")]
    pair.finish_a, pair.finish_b = (side.get("finish_reason") for side in sides)
    models = [side.get("model") for side in sides]
    pair.writer = pair.judge if pair.judge in models else models[0] if isinstance(models[0], str) else None


def _provenance(where: str, pair: RawPair, cai: dict[str, Any]) -> None:
    """Who wrote the sides, and how each generation ended (from a revise row's `cai` object)."""
    pair.writer = cai.get("model") if isinstance(cai.get("model"), str) else None
    initial = cai.get("initial")
    pair.finish_b = initial.get("finish_reason") if isinstance(initial, dict) else None
    for item in cai.get("rounds") or []:
        if not isinstance(item, dict):
            raise InputError(f"{where}: cai.rounds: expected objects with principle, revision, finish_reason")
        revision = item.get("revision")
        pair.rounds.append(
            Round(
                item.get("principle"),
                len(revision) if isinstance(revision, str) else 0,
                item.get("finish_reason"),
                item.get("critique_finish_reason"),
            )
        )
    pair.finish_a = pair.rounds[-1].finish_reason if pair.rounds else None


def _id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return None if value is None else str(value)


def _prompt(where: str, data: dict[str, Any]) -> str:
    value = data.get("prompt", data.get("messages"))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        users = [t.get("content") for t in value if isinstance(t, dict) and t.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    raise InputError(f"{where}: prompt: expected a string or a list of chat turns with a user turn")


def _sides(where: str, data: dict[str, Any], a: str, b: str) -> tuple[str, str]:
    return _text(where, data, a), _text(where, data, b)


def _text(where: str, data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(t, dict) and isinstance(t.get("content"), str) for t in value):
        return "\n\n".join(t["content"] for t in value)
    raise InputError(f"{where}: {name}: expected a string or a list of chat turns")


def _verdict(where: str, name: str, value: Any) -> Verdict:
    """The judge's numbers: p_a and the two orders are required, the rest is read when present."""
    orders = value.get("orders") if isinstance(value, dict) else None
    numbers = [value.get("p_a")] + ([orders.get("a_first"), orders.get("a_second")] if isinstance(orders, dict) else [])
    if len(numbers) != 3 or not all(isinstance(x, int | float) and 0 <= x <= 1 for x in numbers):
        raise InputError(f"{where}: {name}: expected a pairwise verdict with p_a and orders.a_first/a_second in [0, 1]")
    assert isinstance(value, dict)
    return value


def _rank_verdict(where: str, scores: dict[str, Any]) -> Verdict:
    """A ranked row's best-vs-worst judgement, turned so that a = best (the row's chosen)."""
    best, worst = scores.get("best"), scores.get("worst")
    for item in scores.get("pairs") or []:
        if isinstance(item, dict) and {item.get("a"), item.get("b")} == {best, worst}:
            verdict = _verdict(where, "scores.pairs[]", item)
            return verdict if item.get("a") == best else flipped(verdict)
    raise InputError(f"{where}: scores.pairs: no judgement of best ({best}) against worst ({worst})")


def flipped(verdict: Verdict) -> Verdict:
    """The same judgement with the options swapped: P(b better) for each order."""
    first, second = verdict["orders"]["a_first"], verdict["orders"]["a_second"]
    preferred = {"a": "b", "b": "a"}.get(verdict.get("preferred", "tie"), "tie")
    principles = [{**p, "p_a": 1 - p["p_a"]} for p in verdict.get("principles") or [] if isinstance(p, dict)]
    return {
        **verdict,
        "p_a": 1 - verdict["p_a"],
        "margin": -verdict.get("margin", 2 * verdict["p_a"] - 1),
        "preferred": preferred,
        "orders": {"a_first": 1 - second, "a_second": 1 - first},
        "principles": principles,
    }
