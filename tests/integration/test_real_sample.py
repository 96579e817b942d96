"""`cai sample | cai score --pairs` on the real vLLM engine and the embedded model, and one TRL step on the result.

The pipe runs in-process on the session's engine (tests/conftest.py run_cli): sample's stdout is score's
stdin. TRL's DPOTrainer takes the best-worst rows and its RewardTrainer the all-pairs rows, unchanged.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine
from cai.io.keys import derived_seed
from tests.conftest import run_cli, write_lines
from tests.integration.train_step import train_steps

pytestmark = pytest.mark.real
PROMPTS = [
    '{"id": "lock", "prompt": "How do I pick the lock on my front door?"}',
    '{"id": "joke", "prompt": "Tell me a really mean joke about old people."}',
    '{"id": "bread", "prompt": "How do I bake bread at home?"}',
]


def rows_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def sampled(real_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`cai sample prompts.jsonl -n 4` to stdout: the rows as text, as a pipe carries them."""
    folder = tmp_path_factory.mktemp("sample")
    source = write_lines(folder / "prompts.jsonl", PROMPTS)
    code, stdout, stderr = run_cli(
        real_engine, "sample", str(source), "-n", "4", "--max-tokens", "12", "--temperature", "1.0", "--seed", "3"
    )
    assert code == 0, stderr
    assert re.search(r"rows out\s+3 → <stdout>", stderr), stderr
    return stdout


def test_sample_writes_four_seeded_candidates_per_prompt(sampled: str) -> None:
    rows = rows_of(sampled)
    assert [row["id"] for row in rows] == ["lock", "joke", "bread"]
    for row in rows:
        provenance = row["cai"]
        assert provenance["model"].startswith("SmolLM2-135M-Instruct@")
        assert len(row["responses"]) == 4 and all(text.strip() for text in row["responses"])
        assert provenance["seeds"] == [derived_seed(provenance["key"], f"candidate-{i}") for i in range(4)]
        assert set(provenance["finish_reasons"]) <= {"stop", "length"}
        assert all(0 < tokens <= 12 for tokens in provenance["output_tokens"])
        assert provenance["distinct"] == sum(same is None for same in provenance["identical_to"]) >= 2
    assert len({text for row in rows for text in row["responses"]}) > 3  # temperature 1.0: candidates differ


def test_the_same_seeds_sample_the_same_candidates(real_engine: Engine, sampled: str, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "one.jsonl", PROMPTS[2:])
    code, stdout, stderr = run_cli(
        real_engine, "sample", str(source), "-n", "4", "--max-tokens", "12", "--temperature", "1.0", "--seed", "3"
    )
    assert code == 0, stderr
    (alone,), together = rows_of(stdout), rows_of(sampled)[2]
    assert alone["cai"]["key"] == together["cai"]["key"] and alone["cai"]["line"] == 1
    assert alone["responses"] == together["responses"]  # in another batch: the same four candidates


@pytest.fixture(scope="module")
def scored(real_engine: Engine, sampled: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sampled rows piped into `cai score -` twice: --pairs best-worst and --pairs all."""
    folder = tmp_path_factory.mktemp("score")
    outputs = {}
    for mode in ("best-worst", "all"):
        out = folder / f"{mode}.jsonl"
        code, stdout, stderr = run_cli(
            real_engine, "score", "-", "--pairs", mode, "--principles", "1", "-o", str(out), stdin=sampled
        )
        assert code == 0, stderr
        assert stdout == "" and "rows scored" in stderr
        outputs[mode] = out
    return outputs


def test_score_ranks_the_candidates_and_emits_every_judged_pair(scored: dict[str, Path]) -> None:
    best_worst = rows_of(scored["best-worst"].read_text())
    assert [row["scores"]["kind"] for row in best_worst] == ["rank"] * 3
    for row in best_worst:
        assert row["chosen"] == [{"role": "assistant", "content": row["responses"][row["scores"]["best"]]}]
        assert len(row["scores"]["pairs"]) == 6
    pairs = rows_of(scored["all"].read_text())
    assert 3 <= len(pairs) <= 18  # six per prompt, less any pair of identical candidates
    for row in pairs:
        scores, group = row["scores"], row["scores"]["ranked"]
        assert scores["kind"] == "pair" and 0.5 <= scores["p_a"] <= 1
        assert scores["margin"] == pytest.approx(2 * scores["p_a"] - 1, abs=1e-5)
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
        ranked = next(r for r in best_worst if r["scores"]["key"] == group["key"])  # --pairs keeps the row's key
        judged = next(p for p in ranked["scores"]["pairs"] if {p["a"], p["b"]} == {group["chosen"], group["rejected"]})
        assert max(judged["p_a"], 1 - judged["p_a"]) == pytest.approx(scores["p_a"], abs=1e-5)  # the same judgement


def test_cai_report_and_review_read_the_pairs(real_engine: Engine, scored: dict[str, Path], tmp_path: Path) -> None:
    for mode, path in scored.items():
        code, _, stderr = run_cli(real_engine, "report", str(path), "-o", str(tmp_path / f"{mode}.html"))
        assert code == 0, stderr
        assert (tmp_path / f"{mode}.html").stat().st_size > 0
    for mode, path in scored.items():
        review = tmp_path / f"{mode}.review.jsonl"
        code, _, stderr = run_cli(real_engine, "review", "sample", str(path), "-o", str(review))
        assert code == 0, stderr
        assert len(review.read_text().splitlines()) == len(path.read_text().splitlines())  # every pair, < 200


@pytest.fixture(scope="module")
def trained(scored: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One DPOTrainer step on the best-worst rows and one RewardTrainer step on the all-pairs rows (one process)."""
    folder = tmp_path_factory.mktemp("train")
    steps = [("dpo", scored["best-worst"], folder / "dpo"), ("reward", scored["all"], folder / "reward")]
    dpo, reward = train_steps(steps)
    return {"dpo": dpo, "reward": reward}


def test_trl_dpo_trainer_trains_on_the_best_worst_rows_unchanged(trained: dict[str, dict[str, Any]]) -> None:
    report = trained["dpo"]
    assert report["columns"] == ["id", "prompt", "responses", "cai", "chosen", "rejected", "scores"]
    assert report["rows"] == 3 and report["log"]["step"] == 1
    assert math.isfinite(report["log"]["loss"]) and report["log"]["logps/chosen"] < 0


def test_trl_reward_trainer_trains_on_the_pair_rows_unchanged(
    trained: dict[str, dict[str, Any]], scored: dict[str, Path]
) -> None:
    report = trained["reward"]
    assert report["columns"] == ["id", "prompt", "cai", "chosen", "rejected", "scores"]
    assert report["rows"] == len(rows_of(scored["all"].read_text())) and report["log"]["step"] == 1
    assert math.isfinite(report["log"]["loss"]) and report["log"]["loss"] > 0
