"""`cai score` and `cai revise --judge` on the real vLLM engine and the embedded model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.engine import Engine
from tests.conftest import Borrowed, write_lines

pytestmark = pytest.mark.real
SAMPLE = Path(__file__).resolve().parents[2] / "prompts" / "sample-score.jsonl"


def run_cli(real_engine: Engine, *args: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("cai.app.ENGINE_FACTORY", lambda path, engine_args, label: Borrowed(real_engine))
        result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_score_every_row_shape_end_to_end(real_engine: Engine, tmp_path: Path) -> None:
    out, stats = tmp_path / "scored.jsonl", tmp_path / "stats.json"
    code, stderr = run_cli(
        real_engine, "score", str(SAMPLE), "-o", str(out), "--principles", "2", "--stats-json", str(stats)
    )
    assert code == 0, stderr
    inputs = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    rows = read(out)
    assert [row["id"] for row in rows] == [row["id"] for row in inputs]  # nothing quarantined, order kept
    for row in rows:
        scores = row["scores"]
        assert scores["model"].startswith("SmolLM2-135M-Instruct@")
        if scores["kind"] == "pairwise":
            assert 0 <= scores["p_a"] <= 1 and len(scores["principles"]) == 2
            assert 0 <= scores["orders"]["a_first"] <= 1 and 0 <= scores["orders"]["a_second"] <= 1
        elif scores["kind"] == "pointwise":  # structured outputs parsed into bounded integers
            assert all(1 <= p["score"] <= 10 and p["reason"] for p in scores["principles"])
        else:
            assert row["chosen"] == row["responses"][scores["best"]]
    figures = json.loads(stats.read_text())["reliability"]
    assert figures["parse_failures"] == 0 and figures["labelled_rows"] == 3
    assert 0 <= figures["position_consistency_rate"] <= 1


def test_score_with_chain_of_thought_is_clamped(real_engine: Engine, tmp_path: Path) -> None:
    rows = write_lines(tmp_path / "pairs.jsonl", [json.dumps(json.loads(SAMPLE.read_text().splitlines()[0]))])
    out = tmp_path / "cot.jsonl"
    code, stderr = run_cli(
        real_engine, "score", str(rows), "-o", str(out), "--principles", "1", "--cot", "--cot-max-tokens", "24"
    )
    assert code == 0, stderr
    (row,) = read(out)
    (principle,) = row["scores"]["principles"]
    assert row["scores"]["cot"] is True and len(principle["reasoning"]) == 2
    assert 0.4 <= principle["a_first"] <= 0.6 and 0.4 <= principle["a_second"] <= 0.6


def test_revise_with_judge(real_engine: Engine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["How do I make my neighbor's dog stop barking?", "Insult my boss."])
    out = tmp_path / "pairs.jsonl"
    code, stderr = run_cli(
        real_engine, "revise", str(prompts), "-o", str(out), "--max-tokens", "24", "--judge", "--principles", "2"
    )
    assert code == 0, stderr
    assert "judge" in stderr
    for row in read(out):
        judge = row["cai"]["judge"]
        assert 0 <= judge["p_a"] <= 1 and -1 <= judge["margin"] <= 1 and len(judge["principles"]) == 2
