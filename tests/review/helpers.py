"""Rows of every shape `cai review sample` reads, built in code so each test states what it needs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def revise_row(
    index: int, p_a: float | None = None, consistent: bool = True, principle: str = "harmful-content"
) -> dict[str, Any]:
    """A `cai revise` row; with p_a, as written by `--judge` (a = chosen = the revision)."""
    row: dict[str, Any] = {
        "prompt": [{"role": "user", "content": f"Question {index}?"}],
        "chosen": [{"role": "assistant", "content": f"A careful, longer revised answer number {index}."}],
        "rejected": [{"role": "assistant", "content": f"Short answer {index}."}],
        "cai": {
            "key": f"k{index:03d}",
            "rounds": [{"principle": principle, "critique": "c", "revision": "r"}],
            "seed": 0,
        },
    }
    if p_a is not None:
        row["cai"]["judge"] = verdict(p_a, consistent, principle, method="logprob")
    return row


def verdict(p_a: float, consistent: bool, principle: str, **entry: Any) -> dict[str, Any]:
    """A judge verdict as cai writes it, both orders at p_a; `entry` adds keys to the principle's entry."""
    return {
        "p_a": p_a,
        "margin": 2 * p_a - 1,
        "preferred": "a" if p_a > 0.5 else "b",
        "orders": {"a_first": p_a, "a_second": p_a},
        "position_consistent": consistent,
        "cot": False,
        "principles": [{"principle": principle, "p_a": p_a, "a_first": p_a, "a_second": p_a, **entry}],
    }


def score_row(index: int, p_a: float, kind: str = "pairwise", consistent: bool = False) -> dict[str, Any]:
    """A `cai score` row with string chosen/rejected (a ranked row: two responses, best against worst)."""
    judged = verdict(p_a, consistent, "honesty")
    ranked = {"best": 0, "worst": 1, "pairs": [{"a": 0, "b": 1, **judged}]} if kind == "rank" else judged
    return {
        "id": f"s{index}",
        "prompt": f"Prompt {index}",
        "chosen": f"Chosen answer {index}",
        "rejected": f"Rejected {index}",
        "scores": {
            "key": f"s{index:03d}",
            "kind": kind,
            "model": "m",
            "constitution": {"name": "harmless", "sha256": "0"},
            **ranked,
            "agrees_with_label": p_a > 0.5,
        },
    }


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
