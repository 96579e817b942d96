"""Measuring one pair as read (cai.io.pairs) into its numbers and flags (cai.report.measured.Pair)."""

from __future__ import annotations

import hashlib
from typing import Any

from cai.report import signals
from cai.report.measured import Pair
from cai.report.rows import RawPair
from cai.report.signals import Markers
from cai.report.style import markdown


class Repeats:
    """The pairs seen so far, as 64-bit digests (tens of bytes a pair, never the texts): which pair repeats one.

    Two pairs are the same when their conversation, chosen and rejected are equal after lowercasing and
    collapsing whitespace; the first is kept as it is, every later copy is a repeat.
    """

    def __init__(self) -> None:
        self.digests: set[int] = set()

    def repeats(self, raw: RawPair, plain_a: str, plain_b: str) -> bool:
        digest = hashlib.blake2b(digest_size=8)
        texts = [turn["role"] + ":" + signals.plain(turn["content"]) for turn in raw.conversation]
        for text in (*texts, plain_a, plain_b):
            digest.update(" ".join(text.split()).encode("utf-8", "surrogatepass") + b"\x00")
        value = int.from_bytes(digest.digest(), "little")
        if value in self.digests:
            return True
        self.digests.add(value)
        return False


def measure(raw: RawPair, markers: Markers, repeats: Repeats | None = None) -> Pair:
    pair = Pair(raw.where, raw.id, raw.kind, len(raw.a), len(raw.b), rounds=raw.rounds, labelled=raw.labelled)
    if raw.verdict is not None:
        _read_verdict(pair, raw.verdict)
        if raw.judge is not None and raw.writer is not None:
            pair.self_preference = raw.judge == raw.writer
    pair.agrees_with_label = raw.agrees_with_label
    pair.truncated_a = _cut(raw.finish_a)
    pair.truncated_b = _cut(raw.finish_b)
    reasons = [r.critique_finish_reason for r in raw.rounds if r.critique_finish_reason is not None]
    pair.critiques, pair.critiques_cut = len(reasons), sum(r == "length" for r in reasons)
    plain_a, plain_b = signals.plain(raw.a), signals.plain(raw.b)
    pair.refusal_a, pair.refusal_b = markers.found_in("refusal", plain_a), markers.found_in("refusal", plain_b)
    pair.moralising_a = markers.found_in("moralising", plain_a)
    pair.moralising_b = markers.found_in("moralising", plain_b)
    pair.markdown_a, pair.markdown_b = markdown(raw.a).density, markdown(raw.b).density
    pair.duplicate = repeats is not None and repeats.repeats(raw, plain_a, plain_b)
    tokens_a, tokens_b = signals.words(raw.a), signals.words(raw.b)
    stems = signals.content_stems(signals.words(raw.prompt))
    pair.drift_a, pair.drift_b = signals.drifted(stems, tokens_a), signals.drifted(stems, tokens_b)
    grams_a, grams_b = signals.grams(tokens_a), signals.grams(tokens_b)
    distinct_a, distinct_b = set(grams_a), set(grams_b)
    pair.repetition_a = signals.repetition(grams_a, distinct_a)
    pair.repetition_b = signals.repetition(grams_b, distinct_b)
    pair.empty = not raw.a.strip() or not raw.b.strip()
    pair.near_duplicate = signals.near_duplicate(raw.a, raw.b, distinct_a, distinct_b)
    return pair


def _cut(finish_reason: str | None) -> bool | None:
    """Cut at max_tokens; None when unknown (no provenance) or the text came from the input."""
    if finish_reason is None or finish_reason == "given":
        return None
    return finish_reason == "length"


def _read_verdict(pair: Pair, verdict: dict[str, Any]) -> None:
    pair.judged = True
    pair.p_a = float(verdict["p_a"])
    pair.preferred = "a" if pair.p_a > 0.5 else "b" if pair.p_a < 0.5 else "tie"
    pair.a_first = float(verdict["orders"]["a_first"])
    pair.a_second = float(verdict["orders"]["a_second"])
    for item in verdict.get("principles") or []:
        if (
            isinstance(item, dict)
            and isinstance(item.get("principle"), str)
            and isinstance(item.get("p_a"), int | float)
        ):
            pair.principles.append((item["principle"], float(item["p_a"])))
