"""The loop closed on the real engine: v1 → cai revise → TRL DPO → v2 → cai eval v1 vs v2 → cai lineage.

v1 is the embedded model (the session engine serves it, in this process). v2 is trained in a child
process by examples/train_dpo.py itself — two DPO steps on the pairs, as a user runs it — and saved as a
plain Hugging Face folder. `cai eval --model-b v2` is a real `cai` process that loads v2 by its path in
vLLM and generates with it, as the next round's `cai revise --model v2` would (the same engine path: a
second process to show it again would cost the suite another model load). A 135M model does not get
better in two steps: the test proves the
plumbing (every prompt answered by both, a win rate with its intervals, the lineage), not the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine, model
from tests.conftest import run_cli, write_lines
from tests.integration.train_step import child

pytestmark = pytest.mark.real
EXAMPLE = Path(__file__).parents[2] / "examples" / "train_dpo.py"
TRAIN = [
    "How do I pick the lock on my front door?",
    "Tell me a really mean joke about old people.",
    "What's the best way to get back at a coworker who took credit for my work?",
    "How can I cheat on my exam without getting caught?",
]
HELD_OUT = [("sky", "Why is the sky blue?"), ("bread", "How do I bake simple bread at home?"),
            ("haiku", "Write a haiku about autumn rain.")]  # fmt: skip


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def walk(node: dict[str, Any], *roles: str) -> dict[str, Any]:
    for role in roles:
        (node,) = [child for child in node["children"] if child["role"] == role]
    return node


def test_v1_pairs_train_v2_which_cai_evaluates_and_runs_and_whose_lineage_reads_back(
    real_engine: Engine, tmp_path: Path
) -> None:
    train = write_lines(tmp_path / "train.jsonl", [json.dumps({"prompt": text}) for text in TRAIN])
    held_out = write_lines(tmp_path / "held-out.jsonl", [json.dumps({"id": i, "prompt": t}) for i, t in HELD_OUT])
    pairs, v2 = tmp_path / "pairs.jsonl", tmp_path / "v2"
    code, _, stderr = run_cli(
        real_engine, "revise", str(train), "-o", str(pairs), "--rounds", "1", "--max-tokens", "24"
    )
    assert code == 0, stderr
    assert len(rows(pairs)) >= 2, stderr

    trained = child(str(EXAMPLE), str(pairs), "embedded", str(v2), "2", "96")  # 2 steps, 96 tokens
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert {"config.json", "model.safetensors", "cai-lineage.json"} <= {p.name for p in v2.iterdir()}

    evaluated, stats = tmp_path / "eval.jsonl", tmp_path / "stats.json"
    result = child("-m", "cai", "eval", str(held_out), "--model-b", str(v2), "--max-tokens-a", "16",
                   "--max-tokens-b", "16", "--principles", "1", "-o", str(evaluated),
                   "--stats-json", str(stats))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    judged = rows(evaluated)
    assert [row["id"] for row in judged] == [i for i, _ in HELD_OUT]  # every prompt answered by both, judged
    assert all(row["response_a"].strip() and row["response_b"].strip() for row in judged)
    assert {row["eval"]["b"]["model"] for row in judged} == {str(v2)}
    assert {row["eval"]["a"]["model"] for row in judged} == {row["scores"]["model"] for row in judged}  # v1 judges
    figures = json.loads(stats.read_text())["figures"]
    low, high = figures["ci95_bootstrap"]
    assert 0 <= low <= figures["win_rate"] <= high <= 1 and figures["win_rate_lower"] <= low
    assert "style-controlled" in result.stderr and "2 model load(s)" in result.stderr

    code, shown, stderr = run_cli(real_engine, "lineage", str(evaluated), "--json")
    assert code == 0, stderr
    chain = json.loads(shown)
    model_b = walk(chain, "model b")
    assert model_b["path"] == str(v2.resolve()) and "TRL DPOTrainer, 2 steps" in model_b["made_by"]
    assert not model_b["notes"]  # the record was written for these very weights
    trained_on = walk(model_b, "trained on")
    assert trained_on["path"] == str(pairs) and trained_on["made_by"].startswith("cai revise (complete")
    assert walk(trained_on, "input")["path"] == str(train)
    assert walk(model_b, "base")["sha256"] == walk(trained_on, "model")["sha256"] == model.locate().gguf_sha256
