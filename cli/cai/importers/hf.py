"""Hugging Face's CAI recipe (huggingface/llm-swarm examples/constitutional-ai/constitution_anthropic.json).

``{"constitutions": [{"critic": ..., "revision": ...}], "system_chat": [[chat turns], ...]}``: each
constitution entry becomes a numbered principle with its wording verbatim; each system_chat conversation
(user prompt, assistant response, user critic, assistant critique, user revision, assistant revision, after
any earlier turns) becomes a few-shot example. The recipe has no comparison question.
"""

from __future__ import annotations

from typing import Any

from cai.importers.parts import Draft, Part, example
from cai.importers.sources import Notes, Source, child

RECIPE = "Hugging Face CAI recipe"
_ROLES = ("user", "assistant")


def detect(data: Any) -> str | None:
    return RECIPE if isinstance(data, dict) and "constitutions" in data else None


def read_part(source: Source, notes: Notes) -> Part:
    what = '{"constitutions": [{"critic": "...", "revision": "..."}], "system_chat": [...]}'
    data = source.mapping(source.data, "$", f"the recipe object {what}")
    part = Part(source.path, RECIPE)
    entries = source.array(source.member(data, "constitutions", "$", what), "$.constitutions", "principles")
    for index, entry in enumerate(entries):
        where = child("$.constitutions", index)
        entry = source.mapping(entry, where, 'an object with "critic" and "revision"')
        critic = source.string(source.member(entry, "critic", where, "the critique request"), child(where, "critic"))
        revision = source.member(entry, "revision", where, "the revision request")
        revision = source.string(revision, child(where, "revision"))
        part.principles.append(Draft(None, critic.strip(), revision.strip()))
        _extra(source, entry, {"critic", "revision"}, where, notes)
    chats = data.get("system_chat", [])
    if "system_chat" not in data:
        notes.add(source.path, "$", "no system_chat: the constitution gets no few-shot examples")
    elif not isinstance(chats, list):
        raise source.bad("$.system_chat", "expected a list of conversations (lists of chat turns)")
    for index, chat in enumerate(chats):
        _chat(source, chat, child("$.system_chat", index), part, notes)
    _extra(source, data, {"constitutions", "system_chat"}, "$", notes)
    return part


def _extra(source: Source, value: dict[str, Any], known: set[str], where: str, notes: Notes) -> None:
    for key in sorted(set(value) - known):
        notes.add(source.path, child(where, key), "not imported (a cai constitution has no such field)")


def _chat(source: Source, chat: Any, where: str, part: Part, notes: Notes) -> None:
    turns = source.array(chat, where, 'chat turns {"role": ..., "content": ...}')
    roles: list[str] = []
    contents: list[str] = []
    for index, turn in enumerate(turns):
        at = child(where, index)
        turn = source.mapping(turn, at, 'a chat turn {"role": ..., "content": ...}')
        roles.append(source.string(source.member(turn, "role", at, "user or assistant"), child(at, "role")))
        contents.append(source.string(source.member(turn, "content", at, "the text"), child(at, "content")).strip())
        _extra(source, turn, {"role", "content"}, at, notes)
    alternating = all(role == _ROLES[i % 2] for i, role in enumerate(roles))
    if len(turns) < 6 or len(turns) % 2 or not alternating:
        notes.add(
            source.path,
            where,
            f"few-shot example not imported: roles {', '.join(roles)}; expected user and "
            "assistant turns alternating, ending with critic, critique, revision request and revision",
        )
        part.not_imported += 1
        return
    history = [{"role": role, "content": text} for role, text in zip(roles[:-6], contents[:-6], strict=True)]
    part.few_shot.append(
        example(history, (contents[-6], contents[-5]), (contents[-4], contents[-3]), (contents[-2], contents[-1]))
    )
