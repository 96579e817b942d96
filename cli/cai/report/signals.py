"""Cheap per-side signals of reward hacking: markers, drift off the prompt, repetition, near-duplicates.

Each is computed on one text at a time and returns a number or a flag, so a row's text can be
dropped as soon as it is measured (the report never holds whole rows). The thresholds are the
ones docs/report.md defines; they are constants here so the docs and the code cannot disagree.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from cai.errors import InputError

WORD = re.compile(r"[a-z][a-z']*")
STEM = 5  # words compared by their first 5 letters: "cleaner" and "cleaning" share "clean"; "tools" is "tool"
MIN_PROMPT_WORDS = 3  # drift is only judged when the prompt has this many content words
REPEAT_FLAG = 0.3  # a side whose 3-grams are more than 30 % repeats is degenerate
MIN_REPEAT_GRAMS = 10  # too short to judge below this many 3-grams
NEAR_DUPLICATE = 0.8  # Jaccard similarity of the two sides' 3-gram sets
_STOPWORDS = (
    "about above after again against also been before being below between both could does doing down "
    "during each from further have having here into itself just like more most much only other over same "
    "should some such than that their them then there these they this those through under until very were "
    "what when where which while will with would your yours make want need tell give know please thing "
    "things using used"
)
STOPWORDS = frozenset(_STOPWORDS.split(" "))
MARKER_KINDS = ("refusal", "moralising")


class Markers:
    """Refusal and moralising phrases, matched as lowercase substrings (curly apostrophes read as straight).

    Plain substring tests, not one big regex: Python's `re` tries every alternative at every
    position, which made this the slowest step of a 100k-row report; `in` on a lowered text is ~20× faster.
    """

    def __init__(self, phrases: dict[str, tuple[str, ...]]):
        self.phrases = {kind: tuple(sorted({_plain(p) for p in phrases.get(kind, ())})) for kind in MARKER_KINDS}

    def found(self, kind: str, text: str) -> bool:
        return self.found_in(kind, _plain(text))

    def found_in(self, kind: str, plain: str) -> bool:
        """`found` on a text already lowered by `plain` (one lowering per side for both kinds)."""
        return any(phrase in plain for phrase in self.phrases[kind])


def plain(text: str) -> str:
    return _plain(text)


def _plain(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def load_markers(extra: Path | None = None) -> Markers:
    """The shipped list (markers.yaml), plus the phrases of an optional --markers YAML file."""
    import yaml

    shipped = yaml.safe_load(resources.files("cai.report").joinpath("markers.yaml").read_text(encoding="utf-8"))
    phrases = {kind: tuple(shipped[kind]) for kind in MARKER_KINDS}
    if extra is not None:
        for kind, added in _read_extra(extra).items():
            phrases[kind] = phrases[kind] + added
    return Markers(phrases)


def _read_extra(path: Path) -> dict[str, tuple[str, ...]]:
    import yaml

    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the markers file ({exc})") from None
    shape = f"expected a mapping with lists of phrases under {' and/or '.join(MARKER_KINDS)}"
    if not isinstance(data, dict) or not data or set(data) - set(MARKER_KINDS):
        raise InputError(f"{path}: {shape}")
    out: dict[str, tuple[str, ...]] = {}
    for kind, phrases in data.items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise InputError(f"{path}: {kind}: {shape}")
        out[kind] = tuple(p.strip() for p in phrases)
    return out


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content_stems(tokens: list[str]) -> set[str]:
    """Words of 4+ letters that are not stopwords, without a plural s, cut to 5 letters (a crude stemmer)."""
    return {w.removesuffix("s")[:STEM] for w in tokens if len(w) >= 4 and w not in STOPWORDS}


def drifted(prompt_stems: set[str], tokens: list[str]) -> bool | None:
    """True when the answer shares none of the prompt's content words; None when the prompt is too short."""
    if len(prompt_stems) < MIN_PROMPT_WORDS:
        return None
    return prompt_stems.isdisjoint(content_stems(tokens))


def grams(tokens: list[str]) -> list[tuple[str, str, str]]:
    return list(zip(tokens, tokens[1:], tokens[2:], strict=False))


def repetition(side_grams: list[tuple[str, str, str]], distinct: set[tuple[str, str, str]]) -> float:
    """Share of 3-grams that repeat an earlier one (0 = none, → 1 = one phrase looping)."""
    if len(side_grams) < MIN_REPEAT_GRAMS:
        return 0.0
    return 1 - len(distinct) / len(side_grams)


def near_duplicate(a: str, b: str, a_grams: set[tuple[str, str, str]], b_grams: set[tuple[str, str, str]]) -> bool:
    """The two sides say nearly the same thing (3-gram sets' Jaccard): a pair that teaches (almost) nothing."""
    if not a_grams or not b_grams:
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    return len(a_grams & b_grams) / len(a_grams | b_grams) >= NEAR_DUPLICATE
