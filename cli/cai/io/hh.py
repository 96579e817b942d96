"""Anthropic's hh-rlhf transcripts ("\n\nHuman: ...\n\nAssistant: ...") as conversations.

An hh-rlhf row is `{"chosen": TRANSCRIPT, "rejected": TRANSCRIPT}`: two transcripts of one conversation
that differ only in their final Assistant turn. The CAI paper and Hugging Face's CAI recipe start from
these. For `cai revise` the turns up to the last Human turn become `messages`; the final Assistant turn
is dropped by default (the model answers afresh, as in the paper), or taken from the chosen or the
rejected transcript as the `response` to revise (--hh-response). For `cai score` a row of two
transcripts is a labelled pair: the shared turns are the conversation, the final turns the two sides.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from cai.io.records import BadRow, PromptRow, validate_prompt_row

HHResponse = Literal["drop", "chosen", "rejected"]
TRANSCRIPT_FIELDS = ("chosen", "rejected")
_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def is_transcript_row(data: dict[str, Any]) -> bool:
    """A row with a transcript field and neither prompt nor messages: read it as hh-rlhf."""
    return "prompt" not in data and "messages" not in data and any(name in data for name in TRANSCRIPT_FIELDS)


def split_transcript(text: Any, field: str) -> tuple[list[dict[str, str]], str | None]:
    """(the turns before the final Assistant turn, that turn's text or None when the last turn is Human)."""
    if not isinstance(text, str):
        raise BadRow("invalid_transcript", f"{field}: expected a transcript string, got {type(text).__name__}")
    parts = _TURN.split("\n\n" + text.lstrip("\n") if text.lstrip("\n").startswith("Human:") else text)
    if parts[0].strip() or len(parts) < 3:
        raise BadRow(
            "invalid_transcript",
            f"{field}: expected a transcript starting with '\\n\\nHuman: ' (hh-rlhf form), got {text[:40]!r}",
        )
    turns = [
        {"role": _ROLES[role], "content": content.strip()}
        for role, content in zip(parts[1::2], parts[2::2], strict=True)
    ]
    if turns[-1]["role"] == "assistant":
        return turns[:-1], turns[-1]["content"]
    return turns, None


def prompt_row(data: dict[str, Any], response: HHResponse = "drop") -> PromptRow:
    """An hh-rlhf row as a `cai revise` row: messages up to the last Human turn, maybe a response to revise."""
    unknown = sorted(set(data) - {"id", *TRANSCRIPT_FIELDS})
    if unknown:
        raise BadRow("invalid_row", f"{unknown[0]}: unknown field (allowed in hh-rlhf rows: id, chosen, rejected)")
    field = response if response != "drop" else next(name for name in TRANSCRIPT_FIELDS if name in data)
    if field not in data:
        raise BadRow("invalid_transcript", f"{field}: field required (--hh-response {response})")
    turns, final = split_transcript(data[field], field)
    if not turns or turns[-1]["role"] != "user":
        raise BadRow("invalid_transcript", f"{field}: no Human turn before the final Assistant turn")
    row: dict[str, Any] = {"messages": turns}
    if response != "drop":
        if not final:
            raise BadRow("invalid_transcript", f"{field}: the final Assistant turn is missing or empty")
        row["response"] = final
    if "id" in data:
        row["id"] = data["id"]
    try:
        return validate_prompt_row(row)
    except BadRow as bad:
        raise BadRow(bad.reason, f"{field}: {bad.detail}") from None


def labelled_pair(data: dict[str, Any]) -> tuple[list[dict[str, str]], str, str]:
    """(conversation, chosen final turn, rejected final turn) of an hh-rlhf row, for `cai score`."""
    sides = []
    for field in TRANSCRIPT_FIELDS:
        if field not in data:
            raise BadRow("invalid_transcript", f"{field}: field required (an hh-rlhf row has chosen and rejected)")
        turns, final = split_transcript(data[field], field)
        if not final:
            raise BadRow("invalid_transcript", f"{field}: the final Assistant turn is missing or empty")
        sides.append((turns, final))
    (chosen_turns, chosen), (rejected_turns, rejected) = sides
    if chosen_turns != rejected_turns:
        raise BadRow("invalid_transcript", "chosen and rejected differ before their final Assistant turn")
    if not chosen_turns or chosen_turns[-1]["role"] != "user":
        raise BadRow("invalid_transcript", "chosen: no Human turn before the final Assistant turn")
    return chosen_turns, chosen, rejected
