"""How critique and revision tasks are put to the model as chat conversations.

Constant text comes first and is byte-identical across records (system text, then the
constitution's few-shot examples as earlier chat turns), so vLLM's prefix cache computes it once
per run. The few-shot turns also make a small model answer in the assistant's voice instead of
writing "Sure, here is a revised response:".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cai.constitution import Constitution, FewShotExample, Principle
from cai.engines.protocol import Message

CRITIQUE_SYSTEM = (
    "You review an AI assistant's reply against one principle. "
    "Write a short, specific critique of the reply. Do not rewrite the reply."
)
REVISION_SYSTEM = (
    "You rewrite an AI assistant's reply so that it follows the request. "
    "Write only the new reply, as the assistant speaking directly to the user."
)
ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_conversation(conversation: Sequence[Message], response: str) -> str:
    turns = [f"{ROLE_LABELS[m['role']]}: {m['content']}" for m in conversation]
    return "Conversation:\n" + "\n".join([*turns, f"Assistant: {response}"])


def critique_task(conversation: Sequence[Message], response: str, critique_request: str) -> str:
    return f"{render_conversation(conversation, response)}\n\nCritique request: {critique_request}"


def revision_task(
    conversation: Sequence[Message],
    response: str,
    revision_request: str,
    critique: tuple[str, str] | None,
) -> str:
    """`critique` is (request, critique text), or None for critique-free direct revision."""
    parts = [render_conversation(conversation, response)]
    if critique is not None:
        parts.append(f"Critique request: {critique[0]}\nCritique: {critique[1]}")
    parts.append(f"Revision request: {revision_request}")
    return "\n\n".join(parts)


def _example_conversation(example: FewShotExample) -> tuple[Message, ...]:
    earlier: tuple[Message, ...] = tuple({"role": turn.role, "content": turn.content} for turn in example.history)
    return (*earlier, {"role": "user", "content": example.prompt})


def critique_prefix(constitution: Constitution) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": CRITIQUE_SYSTEM}]
    for example in constitution.few_shot:
        task = critique_task(_example_conversation(example), example.response, example.critique_request)
        messages += [{"role": "user", "content": task}, {"role": "assistant", "content": example.critique}]
    return messages


def revision_prefix(constitution: Constitution, with_critique: bool) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": REVISION_SYSTEM}]
    for example in constitution.few_shot:
        critique = (example.critique_request, example.critique) if with_critique else None
        task = revision_task(_example_conversation(example), example.response, example.revision_request, critique)
        messages += [{"role": "user", "content": task}, {"role": "assistant", "content": example.revision}]
    return messages


def critique_messages(
    prefix: list[Message], conversation: Sequence[Message], response: str, principle: Principle
) -> tuple[Message, ...]:
    task = critique_task(conversation, response, principle.critique_request)
    return (*prefix, {"role": "user", "content": task})


def revision_messages(
    prefix: list[Message],
    conversation: Sequence[Message],
    response: str,
    principle: Principle,
    critique: str | None,
) -> tuple[Message, ...]:
    pair = (principle.critique_request, critique) if critique is not None else None
    task = revision_task(conversation, response, principle.revision_request, pair)
    return (*prefix, {"role": "user", "content": task})


_PREAMBLE = re.compile(
    r"""^\s*(?:assistant\s*:\s*)?
    (?:
        (?:(?:sure|okay|ok|certainly|of\ course|absolutely)\b[\s,!.]*)?
        here(?:'s|\ is|\ are)\s+(?:a|an|the|my|your)?\s*(?:[\w-]+\s+){0,3}?
            (?:response|revision|version|reply|answer|rewrite|critique)s?\b[^:\n]{0,40}[:.]
      | (?:revised|rewritten|improved|new|updated)\s+(?:assistant\s+)?(?:response|reply|answer|version)\s*:
      | (?:revision|critique|response|reply)\s*:
    )?\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_SECTION = re.compile(
    r"\n\s*(?:User|Human|Conversation|Critique request|Critique|Revision request|Revision)\s*:.*",
    re.IGNORECASE | re.DOTALL,
)
_QUOTES = "\"'“”‘’"


def clean_output(text: str) -> str:
    """Strip what a small model adds around the answer: a preamble, wrapping quotes, a next turn."""
    text = _TRAILING_SECTION.sub("", text)
    text = _PREAMBLE.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES and not any(q in text[1:-1] for q in '"“”'):
        text = text[1:-1].strip()
    return text


def normalise(text: str) -> str:
    """The form two responses are compared in when deciding a pair carries no preference."""
    return re.sub(r"\s+", " ", text).strip().strip(_QUOTES + ".!? ").casefold()
