"""Rows in the exact shapes `cai revise` and `cai score` write, built small enough to compute by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODEL = "SmolLM2-135M-Instruct@b179c9523d0e"


def verdict(
    p_a: float, a_first: float | None = None, a_second: float | None = None, principles: tuple[str, ...] = ("honest",)
) -> dict[str, Any]:
    """A verdict as `PairVerdict.as_dict` writes it (a = chosen); the orders default to p_a each."""
    first = p_a if a_first is None else a_first
    second = p_a if a_second is None else a_second
    return {
        "p_a": p_a,
        "margin": 2 * p_a - 1,
        "preferred": "a" if p_a > 0.5 else "b" if p_a < 0.5 else "tie",
        "orders": {"a_first": first, "a_second": second},
        "position_consistent": (first - 0.5) * (second - 0.5) > 0,
        "cot": False,
        "principles": [{"principle": name, "p_a": p_a, "a_first": first, "a_second": second} for name in principles],
        "method": "logprobs",  # an extra key another engineer adds: must be ignored
    }


def revise_row(
    prompt: str,
    chosen: str,
    rejected: str,
    judge: dict[str, Any] | None = None,
    finish: tuple[str, ...] = ("stop",),
    initial_finish: str = "stop",
    critique_finish: str | None = "stop",
    principle: str = "harmful-content",
    line: int = 1,
) -> dict[str, Any]:
    """One `cai revise` row; `finish` holds each round's finish_reason (the last one is chosen's)."""
    rounds = [
        {
            "principle": principle,
            "critique": None if critique_finish is None else "A critique.",
            "revision": chosen,
            "finish_reason": reason,
            "critique_finish_reason": critique_finish,
        }
        for reason in finish
    ]
    cai: dict[str, Any] = {
        "key": f"{line:024x}",
        "id": f"row-{line}",
        "line": line,
        "constitution": {"name": "harmless", "sha256": "0" * 64},
        "model": MODEL,
        "mode": "critique",
        "initial": {"source": "generated", "finish_reason": initial_finish},
        "rounds": rounds,
    }
    if judge is not None:
        cai["judge"] = judge
    cai["seed"] = 0
    return {
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "cai": cai,
    }


def score_row(chosen: str, rejected: str, p_a: float, model: str = "judge-7b", **orders: float) -> dict[str, Any]:
    """One pairwise `cai score` row on a labelled (chosen/rejected string) input."""
    scores = {
        "key": "k",
        "kind": "pairwise",
        "model": model,
        "constitution": {"name": "harmless", "sha256": "0" * 64},
        **verdict(p_a, orders.get("a_first"), orders.get("a_second")),
        "agrees_with_label": p_a > 0.5,
    }
    return {
        "prompt": "Explain how vaccines train the immune system.",
        "chosen": chosen,
        "rejected": rejected,
        "scores": scores,
    }


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def words(count: int, word: str = "cells") -> str:
    """`count` distinct words (`word` + a letter suffix: no repeated 3-grams), 8 characters each with the space."""
    return " ".join(word + _letters(i) for i in range(count))


def _letters(index: int) -> str:
    """0 → "aa", 1 → "ab", ...: a suffix the report's tokenizer (letters only) keeps distinct."""
    return chr(97 + index // 26 % 26) + chr(97 + index % 26)


def synthetic_rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` judged revise rows with a length-biased judge and a few of every flag, for plots and screenshots."""
    import random

    rng = random.Random(seed)
    principles = ("harmful-content", "honesty", "illegal-activity", "privacy", "self-harm")
    rows = []
    for line in range(1, count + 1):
        rejected = words(rng.randint(8, 40), "vaccine")
        chosen = words(rng.randint(8, 60), "immune")
        delta = len(chosen) - len(rejected)
        p_a = min(0.98, max(0.02, 0.5 + delta / 800 + rng.gauss(0, 0.15)))
        a_first = min(0.99, max(0.01, p_a + rng.gauss(0.08, 0.1)))
        a_second = min(0.99, max(0.01, 2 * p_a - a_first))
        if line % 17 == 0:
            chosen = "I'm sorry, but I can't help with that. It's important to stay safe."
        rounds = ("stop",) * rng.randint(1, 3) if line % 11 else ("stop", "length")
        picked = tuple(rng.sample(principles, 2))
        rows.append(
            revise_row(
                "Explain how vaccines train the immune system.",
                chosen,
                rejected,
                verdict(round(p_a, 4), round(a_first, 4), round(a_second, 4), principles=picked),
                finish=rounds,
                principle=picked[0],
                line=line,
            )
        )
    return rows


XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


def hostile_rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` judged revise rows where nearly every signal fires, with long texts that HTML-escape to several
    times their size (markup, quotes, emoji) and an XSS payload in every field a page shows: the worst page."""
    import random

    rng = random.Random(seed)
    noise = "".join(rng.choice("<>&\"'😀 ab") for _ in range(3000))
    rows = []
    for line in range(1, count + 1):
        chosen = (
            f"## {XSS}\n- I'm sorry, but I can't help. It's important to stay safe.\n- **{XSS}**\n"
            + "again and again " * rng.randint(5, 40)
            + noise
        )
        rejected = f"{XSS} short {line % 7}"
        p_a = 0.9 if line % 4 else 0.2
        judged = verdict(p_a, a_first=0.9, a_second=0.3 if line % 3 else 0.9)
        row = revise_row(
            f"{XSS} {noise[:400]}", chosen, rejected, judged, finish=("length",), critique_finish="length", line=line
        )
        row["cai"]["id"] = XSS + noise[:200]
        rows.append(row)
        if line % 10 == 0:
            rows.append(json.loads(json.dumps(row)))  # a repeated pair
    return rows
