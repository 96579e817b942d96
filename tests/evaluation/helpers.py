"""A scripted eval: each prompt says who should win and by how many characters B differs from A.

Prompts read "case N: winner=b delta=100". Side B is told apart by its max_tokens (B_TOKENS). The
scripted judge (tests.fakes.prefers_good) prefers the answer that says "good": P 0.8 in both orders
when one side says it, exactly 0.5 when both do (a tie), so every outcome is known in advance.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cai.engines import Request
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine

B_TOKENS = 50
BASE = 200


def scripted_answer(request: Request) -> str:
    task = request.messages[-1]["content"]
    found = re.search(r"winner=(\w+) delta=(-?\d+)", task)
    if found is None:
        return f"an answer to {task}"
    winner, delta = found.group(1), int(found.group(2))
    side_b = request.max_tokens == B_TOKENS
    says_good = winner == "tie" or winner == ("b" if side_b else "a")
    text = ("good " if says_good else "plain ") + task
    length = BASE + delta if side_b else BASE
    return (text + " " + "x" * length)[:length]


def scripted_engine() -> ScriptedEngine:
    return ScriptedEngine(responder=scripted_answer)


# (winner, chars(B) - chars(A), category)
CASES = [
    ("b", 100, "long"),
    ("b", 100, "long"),
    ("b", 100, "long"),
    ("a", 100, "long"),
    ("b", -150, "short"),
    ("tie", -150, "short"),
    ("tie", -150, "short"),
    ("a", -150, "short"),
]


def case_prompts(path: Path, cases: list[tuple[str, int, str]] = CASES) -> Path:
    rows = [
        json.dumps({"id": f"c{n}", "prompt": f"case {n}: winner={w} delta={d}", "category": c})
        for n, (w, d, c) in enumerate(cases)
    ]
    return write_lines(path, rows)


def read_rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
