"""End to end on the real engine: `cai revise --judge` → `cai review sample` → labels → `cai review agreement`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cai.engines import Engine
from tests.conftest import run_cli
from tests.review.helpers import read_jsonl, write_jsonl

pytestmark = pytest.mark.real


def test_revise_judge_then_sample_label_and_agreement(
    real_engine: Engine, judged_sample_pairs: tuple[Path, str], tmp_path: Path
) -> None:
    pairs, _ = judged_sample_pairs
    judged = read_jsonl(pairs)
    assert judged and all("judge" in row["cai"] for row in judged)

    review = tmp_path / "review.jsonl"
    code, _, stderr = run_cli(real_engine, "review", "sample", str(pairs), "-n", "5", "-o", str(review), "--seed", "1")
    assert code == 0, stderr
    items = read_jsonl(review)
    assert len(items) == min(5, len(judged))
    by_key = {row["cai"]["key"]: row for row in judged}
    for it in items:
        source = by_key[it["item"]]
        assert it["judge"]["p_a"] == source["cai"]["judge"]["p_a"]  # a = chosen (the final revision)
        assert it["response_A" if it["shown_A"] == "a" else "response_B"] == source["chosen"][0]["content"]
        assert it["stratum"]["size"] >= it["stratum"]["sampled"]

    # a reviewer who always prefers the initial response (side b), as the new user did
    write_jsonl(
        tmp_path / "review.labels.ana.jsonl",
        [{"item": it["item"], "label": "B" if it["shown_A"] == "a" else "A", "reviewer": "ana"} for it in items],
    )
    code, stdout, stderr = run_cli(real_engine, "review", "agreement", str(review), "--json", "-")
    assert code == 0, stderr
    figures = json.loads(stdout)
    judge_says_b = sum(1 for it in items if it["judge"]["p_a"] < 0.5)
    assert figures["reviewed"] == len(items)
    assert figures["agreement"] == pytest.approx(judge_says_b / len(items))
    assert figures["calibration_n"] == len(items) and figures["brier"] is not None
    code, _, stderr = run_cli(real_engine, "review", "agreement", str(review), "--min-reviewed", "50")
    assert code == 3 and "--min-reviewed 50" in stderr
