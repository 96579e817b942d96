"""What one source file contributes to an imported constitution, before ids and comparisons are settled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Draft:
    """A principle as the source words it; `name` is the source's own name (None: numbered on import)."""

    name: str | None
    critique_request: str
    revision_request: str
    key: str | None = None  # where the source holds it (an object key), for notes about it


@dataclass
class Part:
    """A source file read as one kind (`label`), with what it gave and how many items it could not give."""

    path: Path
    label: str
    principles: list[Draft] = field(default_factory=list)
    few_shot: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[str] = field(default_factory=list)
    not_imported: int = 0


def example(
    history: list[dict[str, str]], turns: tuple[str, str], critique: tuple[str, str], revision: tuple[str, str]
) -> dict[str, Any]:
    """A few-shot example in the constitution's field order; `history` only when there is one."""
    fields: dict[str, Any] = {"history": history} if history else {}
    fields.update(prompt=turns[0], response=turns[1])
    fields.update(critique_request=critique[0], critique=critique[1])
    fields.update(revision_request=revision[0], revision=revision[1])
    return fields
