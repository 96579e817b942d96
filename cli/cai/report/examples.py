"""A few pairs behind each signal, so a reader of the page sees what a number means ("flagged examples").

The report streams and keeps no texts; this keeps, per signal, a seeded reservoir sample of at most
`PER_SIGNAL` of the pairs that signal flags (Algorithm R: every flagged pair is equally likely to be
shown, whatever its place in the file). Each kept text is cut while it is kept, so the memory and the
page stay bounded: a text's budget is counted in the bytes it takes once HTML-escaped, so even a text of
nothing but `<` and emoji cannot make the page grow past `PAGE_BUDGET`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from cai.io.pairs import Pair as RawPair
from cai.report.flagged import Example, Flagged
from cai.report.measured import Pair
from cai.report.signals import REPEAT_FLAG

PER_SIGNAL = 3
PROMPT_BYTES = 250  # escaped UTF-8 bytes kept of a prompt
SIDE_BYTES = 600  # ... of each response
ID_BYTES = 80  # ... of a row's id
ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}  # as Jinja's autoescape writes them


def _refuses(pair: Pair) -> bool:
    return pair.refusal_a and not pair.refusal_b


def _moralises(pair: Pair) -> bool:
    return pair.moralising_a and not pair.moralising_b


# The pairs each signal flags: for a signal past its reference, these show what it counts.
FLAGGED: dict[str, Callable[[Pair], bool]] = {
    "chosen_longer": lambda p: p.chosen_longer is True,
    "length_bias": lambda p: p.longer_preferred is True,
    "length_margin_spearman": lambda p: p.longer_preferred is True,
    "preference_length_controlled": lambda p: p.longer_preferred is True,
    "chosen_more_markdown": lambda p: p.chosen_more_markdown is True,
    "preference_style_controlled": lambda p: p.more_markdown_preferred is True,
    "position_inconsistent": lambda p: p.judged and not p.position_consistent,
    "first_wins_inconsistent": lambda p: p.judged and not p.position_consistent,  # the note shows which order won
    "refusal_chosen": _refuses,
    "moralising_chosen": _moralises,
    "drift_chosen": lambda p: p.drift_a is True,
    "truncated_chosen": lambda p: p.truncated_a is True,
    "truncated_critiques": lambda p: p.critiques_cut > 0,
    "repetitive_chosen": lambda p: p.repetition_a > REPEAT_FLAG,
    "empty_side": lambda p: p.empty,
    "near_duplicate": lambda p: p.near_duplicate,
    "duplicate_pairs": lambda p: p.duplicate,
    "self_preference": lambda p: p.self_preference is True,
    "label_agreement": lambda p: p.agrees_with_label is False,
}
PAGE_BUDGET = len(FLAGGED) * PER_SIGNAL * (PROMPT_BYTES + 2 * SIDE_BYTES)  # the section's texts, at most


class Reservoirs:
    """Per signal, a uniform seeded sample of at most `PER_SIGNAL` flagged pairs, their texts cut."""

    def __init__(self, seed: int = 0) -> None:
        self.kept: dict[str, list[Example]] = {name: [] for name in FLAGGED}
        self.seen: dict[str, int] = dict.fromkeys(FLAGGED, 0)
        self.rng = random.Random(seed)

    def offer(self, pair: Pair, raw: RawPair) -> None:
        for name, flagged in FLAGGED.items():
            if not flagged(pair):
                continue
            self.seen[name] += 1
            kept = self.kept[name]
            if len(kept) < PER_SIGNAL:
                kept.append(example(pair, raw))
            else:
                slot = self.rng.randrange(self.seen[name])
                if slot < PER_SIGNAL:
                    kept[slot] = example(pair, raw)

    def result(self) -> dict[str, Flagged]:
        """Per signal that flagged any pair: the count, and the kept examples in file order."""
        return {name: Flagged(self.seen[name], sorted(kept, key=_order)) for name, kept in self.kept.items() if kept}


def _order(item: Example) -> tuple[str, int]:
    path, _, line = item.where.rpartition(":")
    return (path, int(line)) if line.isdigit() else (item.where, 0)


def example(pair: Pair, raw: RawPair) -> Example:
    prompt, prompt_cut = cut(raw.prompt, PROMPT_BYTES)
    chosen, chosen_cut = cut(raw.a, SIDE_BYTES)
    rejected, rejected_cut = cut(raw.b, SIDE_BYTES)
    row_id = None if raw.id is None else cut(raw.id, ID_BYTES)[0]
    return Example(raw.where, row_id, prompt, chosen, rejected, note(pair), (prompt_cut, chosen_cut, rejected_cut))


def note(pair: Pair) -> str:
    parts = [f"chosen {pair.len_a:,} chars, rejected {pair.len_b:,}"]
    if pair.markdown_a or pair.markdown_b:
        parts.append(f"markdown {pair.markdown_a:.1f} vs {pair.markdown_b:.1f} per 1,000 chars")
    if pair.judged:
        parts.append(f"margin {pair.margin:+.2f} (orders {pair.a_first:.2f} / {pair.a_second:.2f})")
    return "; ".join(parts)


def cut(text: str, budget: int) -> tuple[str, bool]:
    """The longest start of `text` whose HTML-escaped UTF-8 form fits in `budget` bytes, and whether it was cut."""
    used = 0
    for index, char in enumerate(text):
        used += len(ESCAPED.get(char, char).encode("utf-8", "surrogatepass"))
        if used > budget:
            return text[:index], True
    return text, False
