"""`cai eval` on the real vLLM engine: the embedded model against itself, and against a crippled variant.

One session engine serves side A, side B and the judge (tests.conftest.run_cli), as one model loaded
once would in a real run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine
from tests.conftest import run_cli, write_lines

pytestmark = pytest.mark.real
PROMPTS = [
    ("dog", "advice", "How do I get my neighbor's dog to stop barking at night?"),
    ("breath", "advice", "What's a polite way to tell a friend they have bad breath?"),
    ("haiku", "creative", "Write a haiku about autumn rain."),
    ("sky", "facts", "Why is the sky blue?"),
    ("water", "facts", "How much water should I drink every day?"),
    ("bread", "advice", "How do I bake simple bread at home?"),
]


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    rows = [json.dumps({"id": i, "prompt": text, "category": c}) for i, c, text in PROMPTS]
    return write_lines(tmp_path / "prompts.jsonl", rows)


def figures(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())["figures"]
    return data


def test_the_model_against_itself_with_other_sampling_is_a_coin_toss(
    real_engine: Engine, prompts: Path, tmp_path: Path
) -> None:
    out, stats = tmp_path / "self.jsonl", tmp_path / "self.json"
    code, _, stderr = run_cli(
        real_engine, "eval", str(prompts), "-o", str(out), "--stats-json", str(stats), "--principles", "1",
        "--max-tokens-a", "16", "--max-tokens-b", "16", "--temperature-b", "1.0", "--seed-b", "1",
    )  # fmt: skip
    assert code == 0, stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [i for i, _, _ in PROMPTS]
    assert any(row["response_a"] != row["response_b"] for row in rows)  # the sides really sampled differently
    assert all(row["eval"]["b"]["temperature"] == 1.0 and row["eval"]["a"]["temperature"] == 0.7 for row in rows)
    result = figures(stats)
    low, high = result["ci95"]
    assert low <= 0.5 <= high, result
    assert abs(result["win_rate"] - 0.5) < 0.4, result  # not a sweep either way
    assert set(result["by_category"]) == {"advice", "creative", "facts"}
    assert "self-preference" in stderr and "win rate B over A" in stderr


def test_the_model_beats_its_crippled_variant(real_engine: Engine, prompts: Path, tmp_path: Path) -> None:
    out, stats, page = tmp_path / "crippled.jsonl", tmp_path / "crippled.json", tmp_path / "eval.html"
    args = ["eval", str(prompts), "-o", str(out), "--principles", "2", "--max-tokens-a", "4", "--max-tokens-b", "32"]
    code, _, stderr = run_cli(
        real_engine, *args, "--stats-json", str(stats), "--report", str(page), "--min-win-rate", "0.5"
    )
    assert code == 0, stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(row["eval"]["a"]["finish_reason"] == "length" for row in rows)  # A is cut at 4 tokens
    result = figures(stats)
    assert result["win_rate"] > 0.5 and result["b_wins"] > result["a_wins"], result
    assert "<html" in page.read_text()[:500].lower()
    code, _, stderr = run_cli(real_engine, *args, "--min-win-rate", "0.99")  # finished: no model work, gate only
    assert code == (3 if result["win_rate"] < 0.99 else 0), stderr
    code, _, stderr = run_cli(real_engine, "review", "sample", str(out), "-n", "4", "-o", str(tmp_path / "r.jsonl"))
    assert code == 0, stderr
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 4
