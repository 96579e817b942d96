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


def test_revise_judge_then_report(real_engine: Engine, judged_sample_pairs: tuple[Path, str], tmp_path: Path) -> None:
    pairs, stderr = judged_sample_pairs
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


def test_revise_hf_cai_without_judge_then_report_and_review(real_engine: Engine, tmp_path: Path) -> None:
    """cai's own --format hf-cai rows (whole conversations as chosen/rejected), no judge: the length signal
    still says what DPO on them teaches, and review samples the same sides the report measures."""
    pairs, prompts = tmp_path / "hf-cai.jsonl", tmp_path / "prompts.jsonl"
    prompts.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:4]), encoding="utf-8")
    code, _, stderr = run_cli(
        real_engine,
        "revise",
        str(prompts),
        "-o",
        str(pairs),
        "--format",
        "hf-cai",
        "--max-tokens",
        "24",
        "--principles",
        "1",
    )
    assert code == 0, stderr
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert rows and all(row["chosen"][0]["role"] == "user" for row in rows), stderr  # whole conversations

    export = tmp_path / "figures.json"
    code, _, stderr = run_cli(real_engine, "report", str(pairs), "-o", str(tmp_path / "r.html"), "--json", str(export))
    assert code == 0, stderr
    figures = json.loads(export.read_text())["figures"]
    deltas = [len(row["revision_response"]) - len(row["init_response"]) for row in rows]
    apart = [d for d in deltas if abs(d) > 30]
    assert figures["judged_pairs"] == 0 and figures["chosen_longer_pairs"] == len(apart)
    assert figures["chosen_longer"] == (pytest.approx(sum(d > 0 for d in apart) / len(apart)) if apart else None)
    assert figures["mean_chars_chosen"] == pytest.approx(sum(len(r["revision_response"]) for r in rows) / len(rows))

    review = tmp_path / "review.jsonl"
    code, _, stderr = run_cli(real_engine, "review", "sample", str(pairs), "-o", str(review))
    assert code == 0, stderr
    from cai.review.items import read_review

    by_line = {item.source.line: item for item in read_review(review)}
    for line, row in enumerate(rows, 1):
        assert by_line[line].text("a") == row["revision_response"]  # the answer alone, not the prompt with it
        assert by_line[line].text("b") == row["init_response"]
        assert by_line[line].conversation[-1].content == row["prompt"]
