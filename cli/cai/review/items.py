"""The review file: one JSON object a line, one item a person labels, in the order they label them.

Each item carries everything needed later without the source file: the conversation, the two
responses in the order shown (A, B), which source side A is, the judge's verdict (kept in the file,
never shown while labelling), and the item's stratum, inclusion probability and weight, so figures
computed from the sample can be weighted back to the whole source file. Users may read and edit it,
so it is validated strictly (`extra="forbid"`): a bad line is an error naming file, line and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cai.errors import InputError

Side = Literal["a", "b"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Turn(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class SourceRef(_Strict):
    path: str
    line: int = Field(ge=1)


class JudgeView(_Strict):
    """The judge's verdict on source side a vs b (absent: a revise row without --judge)."""

    p_a: float = Field(ge=0, le=1)
    position_consistent: bool | None = None


class Stratum(_Strict):
    id: str = Field(min_length=1)
    size: int = Field(ge=1)  # source pairs in this stratum (N_h)
    sampled: int = Field(ge=1)  # pairs of it in the sample (n_h)


class ReviewItem(_Strict):
    item: str = Field(min_length=1)
    source: SourceRef
    conversation: tuple[Turn, ...] = Field(min_length=1)
    response_A: str  # the letters the reviewer sees
    response_B: str
    shown_A: Side  # which source side is shown as A
    judge: JudgeView | None
    principle: str
    stratum: Stratum
    inclusion_probability: float = Field(gt=0, le=1)
    weight: float = Field(ge=1)
    population: int = Field(ge=1)  # judged pairs in the whole source file

    def side(self, letter: str) -> Side:
        """The source side ('a' or 'b') behind the letter the reviewer saw."""
        other: Side = "b" if self.shown_A == "a" else "a"
        return self.shown_A if letter == "A" else other

    def text(self, side: Side) -> str:
        return self.response_A if self.side("A") == side else self.response_B


def read_review(path: Path) -> list[ReviewItem]:
    """Every item of a review file; an unreadable or invalid line is an InputError with file:line and field."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the review file {path}: {exc.strerror or exc}") from None
    items: list[ReviewItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        item = _parse(path, number, raw)
        if item.item in seen:
            raise InputError(f"{path}:{number}: item: {item.item!r} repeats line {seen[item.item]}")
        seen[item.item] = number
        items.append(item)
    if not items:
        raise InputError(f"{path}: the review file has no items (an empty sample); run `cai review sample` first")
    return items


def _parse(path: Path, number: int, raw: str) -> ReviewItem:
    try:
        return ReviewItem.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "row"
        if first["type"] == "json_invalid":
            raise InputError(f"{path}:{number}: invalid JSON ({first['msg']})") from None
        raise InputError(f"{path}:{number}: {where}: {first['msg']}") from None


def write_review(path: Path, items: list[ReviewItem]) -> None:
    """Write the whole file at once (temp file, then rename): a sample is never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    lines = "".join(json.dumps(item.model_dump(mode="json"), ensure_ascii=False) + "\n" for item in items)
    temporary.write_text(lines, encoding="utf-8")
    temporary.replace(path)
