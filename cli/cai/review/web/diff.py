"""A word-level diff of response A against response B, as plain segments the page escapes and marks up.

Words are compared without their surrounding whitespace (a re-wrapped line is not a change); each
segment keeps the text exactly as written, so the pieces of one side put together give that side back.
difflib's junk heuristic stays on: on two 20,000-character responses it keeps the diff well under a
second, at the cost of marking a few very frequent words as changed when they moved.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

Kind = Literal["same", "del", "ins"]
WORD = re.compile(r"\s+|\S+\s*")


def words(text: str) -> list[str]:
    """Tokens that put together give `text`: a leading run of whitespace, then each word with what follows it."""
    return WORD.findall(text)


def word_diff(a: str, b: str) -> list[tuple[Kind, str]]:
    """A → B: `del` is text only in A, `ins` text only in B, `same` shared (as written in B)."""
    left, right = words(a), words(b)
    matcher = SequenceMatcher(None, [token.strip() for token in left], [token.strip() for token in right])
    segments: list[tuple[Kind, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("same", "".join(right[j1:j2])))
            continue
        if i2 > i1:
            segments.append(("del", "".join(left[i1:i2])))
        if j2 > j1:
            segments.append(("ins", "".join(right[j1:j2])))
    return segments


def changed_words(segments: list[tuple[Kind, str]]) -> dict[str, int]:
    """How many words are only in A (`del`) and only in B (`ins`)."""
    counts = {"del": 0, "ins": 0}
    for kind, text in segments:
        if kind != "same":
            counts[kind] += len(text.split())
    return counts
