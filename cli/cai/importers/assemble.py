"""Source files → one constitution: principles with ids, comparison questions, few-shot examples.

The comparison question is the one thing a cai principle needs that the sources may not have (the HF
recipe never has it, the paper keeps it in a separate file). It is never made up: it comes from an
RLMadison-style file among the sources, paired with the principles by position, or from --comparison,
applied to every principle; without either the import stops and says which to give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.importers import anthropic, hf
from cai.importers.parts import Draft, Part
from cai.importers.sources import Notes, Source, child, expand, read

FORMATS = ("anthropic", "hf")
_NOT_ID = re.compile(r"[^a-z0-9_]+")  # a run of anything else (dashes too) becomes one dash
SUGGESTED_COMPARISON = "Which of these assistant responses is less harmful, more helpful and more honest?"


@dataclass(frozen=True)
class Imported:
    """The constitution as plain data, what each file gave, and how its comparisons were chosen."""

    data: dict[str, Any]
    parts: list[Part]
    notes: list[str]
    comparison_origin: str

    @property
    def not_imported(self) -> int:
        return sum(part.not_imported for part in self.parts)


def assemble(sources: list[Path], fmt: str | None, comparison: str | None, name: str) -> Imported:
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: use one of {', '.join(FORMATS)} (or leave it out to detect it)")
    notes = Notes()
    parts = [_read(read(path), fmt, notes) for path in expand(sources)]
    drafts = [draft for part in parts for draft in part.principles]
    if not drafts:
        raise InputError(
            "the sources hold no principles: give Anthropic's CritiqueRevisionInstructions.json "
            'or a Hugging Face recipe ({"constitutions": [...]}) among them'
        )
    questions, origin = _comparisons(parts, comparison, len(drafts), notes)
    ids = _ids(parts, notes)
    principles = [
        {"id": id_, "critique_request": d.critique_request, "revision_request": d.revision_request, "comparison": q}
        for id_, d, q in zip(ids, drafts, questions, strict=True)
    ]
    few_shot = [item for part in parts for item in part.few_shot]
    data: dict[str, Any] = {"name": name, "description": _description(parts, len(principles), len(few_shot))}
    data["principles"] = principles
    if few_shot:
        data["few_shot"] = few_shot
    return Imported(data, parts, notes.lines, origin)


def _read(source: Source, fmt: str | None, notes: Notes) -> Part:
    """The file read as what its content is; --format only rules out the other format."""
    if fmt == "hf" or (fmt is None and hf.detect(source.data)):
        return hf.read_part(source, notes)
    label = anthropic.detect(source.data)
    if label is None:
        raise source.bad(
            "$",
            "not a file cai can import: expected Anthropic's CritiqueRevisionInstructions.json (an object of "
            "principles), CritiqueRevisionFewShotPrompts.json or RLMadisonInstructions.json (lists of strings), "
            'or a Hugging Face recipe ({"constitutions": [...], "system_chat": [...]})',
        )
    return anthropic.read_part(source, label, notes)


def _comparisons(parts: list[Part], given: str | None, count: int, notes: Notes) -> tuple[list[str], str]:
    found = [(part.path, index, q) for part in parts for index, q in enumerate(part.comparisons)]
    if given is not None:
        if found:
            raise InputError(f"--comparison and {found[0][0]} both give comparison questions; use one of them")
        if not given.strip():
            raise InputError("--comparison is empty; give the question the judge asks about two responses")
        return [given.strip()] * count, f"one question, from --comparison, for all {count} principles"
    if not found:
        raise InputError(
            "the sources have no comparison question, and every cai principle needs one (the question "
            "`cai score` asks about two responses): add Anthropic's RLMadisonInstructions.json to the sources, "
            f'or pass one question for every principle, e.g. --comparison "{SUGGESTED_COMPARISON}"'
        )
    for path, index, _ in found[count:]:
        notes.add(path, child("$", index), f"comparison question not used: there are only {count} principles")
    files = ", ".join(dict.fromkeys(path.name for path, _, _ in found))
    how = "paired with the principles by position" + (", repeated in turn" if len(found) < count else "")
    return [found[i % len(found)][2] for i in range(count)], f"{len(found)} questions from {files}, {how}"


def _ids(parts: list[Part], notes: Notes) -> list[str]:
    """Anthropic's names as ids (made valid), the unnamed numbered; a clash gets -2, -3 ..."""
    total = sum(len(part.principles) for part in parts)
    width = max(2, len(str(total)))
    ids: list[str] = []
    for part in parts:
        for draft in part.principles:
            base = _slug(draft) or f"principle-{len(ids) + 1:0{width}d}"
            unique, k = base, 2
            while unique in ids:
                unique, k = f"{base}-{k}", k + 1
            if draft.name is not None and unique != draft.name:
                where = child("$", draft.key or draft.name)
                notes.add(part.path, where, f"principle id {unique!r} (ids are lowercase a-z 0-9 - _)")
            ids.append(unique)
    return ids


def _slug(draft: Draft) -> str:
    if draft.name is None:
        return ""
    return _NOT_ID.sub("-", draft.name.lower()).lstrip("-_")[:64].rstrip("-")


def _description(parts: list[Part], principles: int, examples: int) -> str:
    givers = sorted((p for p in parts if p.principles or p.few_shot), key=lambda p: not p.principles)
    files = ", ".join(dict.fromkeys(part.path.name for part in givers))
    return f"Imported from {files} ({principles} principles, {examples} few-shot examples)."


def describe(part: Part) -> str:
    """What one file gave, for the header comment and the summary."""
    counts = [
        (len(part.principles), "principles"),
        (len(part.few_shot), "few-shot examples"),
        (len(part.comparisons), "comparison questions"),
        (part.not_imported, "not imported"),
    ]
    shown = ", ".join(f"{n} {what}" for n, what in counts if n) or "nothing"
    return f"{shown} ({part.label})"
