"""The Python API on the real engine: the rows it streams carry the keys `cai revise` and `cai score` write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cai import api
from cai.engines import Engine
from tests.conftest import run_cli, write_lines

pytestmark = pytest.mark.real

PROMPTS = ["Name one fruit that is red.", "How many legs does a spider have?"]


def test_api_revise_and_score_match_the_commands_keys(real_engine: Engine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", PROMPTS)
    code, stdout, stderr = run_cli(real_engine, "revise", str(prompts), "--rounds", "1", "--max-tokens", "12", "-q")
    assert code == 0, stderr
    command = [json.loads(line) for line in stdout.splitlines()]
    rows = list(api.revise(PROMPTS, real_engine, rounds=1, max_tokens=12))
    assert len(rows) == 2
    pairs = [row for row in rows if "reason" not in row]
    assert {row["cai"]["key"] for row in pairs} == {row["cai"]["key"] for row in command}
    assert real_engine.max_model_len > 0  # lent, not closed: the session's engine still answers below

    judged = list(api.score([{"prompt": "Hi", "chosen": "Hello! How can I help?", "rejected": "no"}], real_engine))
    assert 0.0 <= judged[0]["scores"]["p_a"] <= 1.0 and judged[0]["scores"]["kind"] == "pairwise"
