"""End to end on the real engine: `cai revise --judge` on the sample prompts, then `cai report` on its output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cai.engines import Engine
from tests.conftest import run_cli
from tests.integration.test_real_revise import SAMPLE

pytestmark = pytest.mark.real


def test_revise_judge_then_report(real_engine: Engine, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    code, _, stderr = run_cli(
        real_engine, "revise", str(SAMPLE), "-o", str(pairs), "--judge", "--max-tokens", "24", "--principles", "1"
    )
    assert code == 0, stderr
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert rows, stderr

    page, export, flags = tmp_path / "report.html", tmp_path / "figures.json", tmp_path / "flags.jsonl"
    code, stdout, stderr = run_cli(
        real_engine, "report", str(pairs), "-o", str(page), "--json", str(export), "--flags-out", str(flags)
    )
    assert code == 0, stderr
    assert stdout == ""
    figures = json.loads(export.read_text())["figures"]
    assert figures["pairs"] == figures["judged_pairs"] == len(rows)
    assert figures["self_preference"] == 1.0  # the embedded model judged its own revisions
    cut = [row["cai"]["rounds"][-1]["finish_reason"] == "length" for row in rows]
    assert figures["truncated_chosen"] == pytest.approx(sum(cut) / len(rows))
    consistent = [row["cai"]["judge"]["position_consistent"] for row in rows]
    assert figures["position_inconsistent"] == pytest.approx(consistent.count(False) / len(rows))
    assert len(flags.read_text().splitlines()) == len(rows)
    assert page.read_text().count("<svg") >= 3
    assert re.search(rf"pairs\s+{len(rows)} \({len(rows)} judged\)", stderr), stderr
