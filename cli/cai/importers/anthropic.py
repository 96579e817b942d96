"""Anthropic's Constitutional AI paper prompts (the prompts/ folder of anthropics/ConstitutionalHarmlessnessPaper).

Three files map onto a cai constitution: CritiqueRevisionInstructions.json (the principles),
CritiqueRevisionFewShotPrompts.json (few-shot transcripts) and RLMadisonInstructions.json (the comparison
questions of the feedback model). Each file is recognised by its shape, not its name, so a renamed copy
still imports. The wording is kept verbatim; only the prompt scaffolding ("CritiqueRequest:", the trailing
"Critique:", "Options:", "Human:") is taken off, and anything that does not fit is reported in the notes.
"""

from __future__ import annotations

import re
from typing import Any

from cai.importers.parts import Draft, Part, example
from cai.importers.sources import Notes, Source, child

INSTRUCTIONS = "Anthropic critique/revision instructions"
FEW_SHOT = "Anthropic critique/revision few-shot prompts"
COMPARISONS = "Anthropic RLMadison comparison questions"
JUDGE_FEW_SHOT = "Anthropic RLMadison few-shot prompts for the judge"

_LABEL = re.compile(r"(?:^|\n)[ \t]*(Human|Assistant|CritiqueRequest|Critique|RevisionRequest|Revision):")
_TAIL = ["CritiqueRequest", "Critique", "RevisionRequest", "Revision"]
_ROLES = {"Human": "user", "Assistant": "assistant"}
_OPTIONS = re.compile(r"\s*Options:\s*\Z")


def detect(data: Any) -> str | None:
    """Which of the paper's files this content is, by shape; None when it is none of them."""
    if isinstance(data, dict):
        return INSTRUCTIONS
    if not isinstance(data, list) or not data:
        return None
    if all(isinstance(item, str) for item in data):
        return FEW_SHOT if any("CritiqueRequest:" in item for item in data) else COMPARISONS
    if all(isinstance(item, dict) and "prompt" in item for item in data):
        return JUDGE_FEW_SHOT
    return None


def read_part(source: Source, label: str, notes: Notes) -> Part:
    readers = {
        INSTRUCTIONS: instructions,
        FEW_SHOT: few_shot,
        COMPARISONS: comparisons,
        JUDGE_FEW_SHOT: judge_few_shot,
    }
    return readers[label](source, notes)


def instructions(source: Source, notes: Notes) -> Part:
    """``{"harmful0": {"prompt": ["...CritiqueRequest: ..."], "edit_request": "...RevisionRequest: ..."}}``."""
    what = 'an object of named principles, {"name": {"prompt": [...], "edit_request": "..."}}'
    data = source.mapping(source.data, "$", what)
    if not data:
        raise source.bad("$", f"is an empty object; expected {what}")
    part = Part(source.path, INSTRUCTIONS)
    for name, entry in data.items():
        where = child("$", name)
        entry = source.mapping(entry, where, 'an object with "prompt" (critique requests) and "edit_request"')
        prompts = source.member(entry, "prompt", where, "the list of critique requests")
        prompts = source.array(prompts, child(where, "prompt"), "critique request strings")
        edit = source.member(entry, "edit_request", where, "the revision request")
        revision = _unwrap(source, edit, child(where, "edit_request"), ("RevisionRequest", "Revision"), notes)
        critiques = [
            _unwrap(source, text, child(child(where, "prompt"), i), ("CritiqueRequest", "Critique"), notes)
            for i, text in enumerate(prompts)
        ]
        if len(critiques) > 1:
            notes.add(
                source.path,
                where,
                f"{len(critiques)} critique requests share one revision request: "
                f"imported as {len(critiques)} principles {name}-1 ... {name}-{len(critiques)}",
            )
        for key in sorted(set(entry) - {"prompt", "edit_request"}):
            notes.add(source.path, child(where, key), "not imported (a cai principle has no such field)")
        suffixes = [f"-{i + 1}" for i in range(len(critiques))] if len(critiques) > 1 else [""]
        part.principles += [Draft(name + s, c, revision, name) for s, c in zip(suffixes, critiques, strict=True)]
    return part


def _unwrap(source: Source, value: Any, where: str, labels: tuple[str, str], notes: Notes) -> str:
    """``"\\n\\nCritiqueRequest: TEXT\\n\\nCritique:"`` → ``TEXT``; text without the label is kept as written."""
    text = source.string(value, where)
    request, answer = labels
    match = re.fullmatch(rf"\s*{request}:[ \t]*(.*?)\s*(?:\n\s*{answer}:)?\s*", text, re.DOTALL)
    if match is None:
        notes.add(source.path, where, f'no "{request}:" label; the text is kept as written')
        return text.strip()
    if not match.group(1):
        raise source.bad(where, f'has the "{request}:" label but no text after it')
    return match.group(1)


def few_shot(source: Source, notes: Notes) -> Part:
    """Transcripts: Human/Assistant turns, then CritiqueRequest, Critique, RevisionRequest, Revision."""
    part = Part(source.path, FEW_SHOT)
    for where, text in source.strings("few-shot transcript strings"):
        mapped = _transcript(text)
        if isinstance(mapped, str):
            notes.add(source.path, where, f"few-shot example not imported: {mapped}")
            part.not_imported += 1
        else:
            part.few_shot.append(mapped)
    return part


def _transcript(text: str) -> dict[str, Any] | str:
    """The example, or why it does not fit the paper's transcript form."""
    pieces = _LABEL.split(text)
    if pieces[0].strip():
        return f"text before the first label: {pieces[0].strip()[:60]!r}"
    segments = [(pieces[i], pieces[i + 1].strip()) for i in range(1, len(pieces), 2)]
    if segments and segments[-1] == ("Human", ""):
        segments.pop()  # the opening of the next transcript, not part of this one
    labels = [label for label, _ in segments]
    turns = labels[:-4]
    alternating = all(label == ("Human" if i % 2 == 0 else "Assistant") for i, label in enumerate(turns))
    if labels[-4:] != _TAIL or not turns or len(turns) % 2 or not alternating:
        found = ", ".join(labels) or "none"
        return f"labels {found}; expected Human/Assistant turns, then {', '.join(_TAIL)}"
    empty = next((label for label, body in segments if not body), None)
    if empty is not None:
        return f'an empty "{empty}:" section'
    bodies = [body for _, body in segments]
    history = [{"role": _ROLES[label], "content": body} for label, body in segments[: len(turns) - 2]]
    return example(
        history, (bodies[len(turns) - 2], bodies[len(turns) - 1]), (bodies[-4], bodies[-3]), (bodies[-2], bodies[-1])
    )


def comparisons(source: Source, notes: Notes) -> Part:
    """The feedback model's questions, each ending with the "Options:" that introduced (A) and (B)."""
    part = Part(source.path, COMPARISONS)
    for where, text in source.strings("comparison question strings"):
        question, cut = _OPTIONS.subn("", text)
        if not cut:
            notes.add(source.path, where, 'no trailing "Options:"; the question is kept as written')
        if not question.strip():
            raise source.bad(where, 'has "Options:" but no question before it')
        part.comparisons.append(question.strip())
    return part


def judge_few_shot(source: Source, notes: Notes) -> Part:
    """RLMadison(Precog)FewShotPrompts.json: worked judgements; a cai constitution has no place for them."""
    part = Part(source.path, JUDGE_FEW_SHOT, not_imported=len(source.data))
    notes.add(
        source.path,
        "$",
        f"{len(source.data)} few-shot examples for the judge: not imported "
        "(a cai constitution has no few-shot examples for the pairwise judge)",
    )
    return part
