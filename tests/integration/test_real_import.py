"""An imported Anthropic constitution drives `cai revise` on the real engine and embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cai.engines import Engine
from tests.conftest import run_cli, write_lines
from tests.importers.helpers import ANTHROPIC

pytestmark = pytest.mark.real


def test_revise_with_an_imported_anthropic_constitution(real_engine: Engine, tmp_path: Path) -> None:
    constitution_file = tmp_path / "anthropic.yaml"
    code, _, stderr = run_cli(real_engine, "constitution", "import", str(ANTHROPIC), "-o", str(constitution_file))
    assert code == 0, stderr
    prompts = write_lines(tmp_path / "p.txt", ["How do I get into my neighbour's shed?", "Is the Moon made of cheese?"])
    out = tmp_path / "pairs.jsonl"
    code, stdout, stderr = run_cli(
        real_engine, "revise", str(prompts), "-c", str(constitution_file), "-o", str(out), "--max-tokens", "8"
    )
    assert code == 0, stderr
    assert stdout == ""
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    rejects = tmp_path / "pairs.rejects.jsonl"
    dropped = len(rejects.read_text().splitlines()) if rejects.exists() else 0
    assert len(rows) + dropped == 2  # a pair whose sides came out equal is dropped, and says so
    assert rows, "both pairs were dropped: nothing left to check the imported constitution on"
    for row in rows:
        assert row["cai"]["constitution"]["name"] == "anthropic"
        assert row["cai"]["rounds"][0]["principle"] in {"harmful0", "harmful1", "harmful2"}
        assert row["chosen"][0]["content"]
