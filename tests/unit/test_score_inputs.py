"""`cai score --mode` and the input formats `cai score` reads besides JSONL (Parquet, dataset folders, hh-rlhf)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai.io.records import BadRow
from cai.io.scored import read_score_row
from cai.score.run import ScoreJob, run_score
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine

MIXED = [
    {"prompt": "q1", "response": "an answer"},
    {"prompt": "q2", "chosen": "a good answer", "rejected": "a bad answer"},
    {"prompt": "q3", "responses": ["plain", "good stuff", "bad"]},
    {"prompt": "q4", "response": "only this", "chosen": "good", "rejected": "bad", "responses": ["x", "y"]},
]


def scored(
    tmp_path: Path, source: Path, model: Path, **options: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    out = tmp_path / "scored.jsonl"
    job = ScoreJob.of(rows=str(source), output=str(out), model=str(model), principles=2, overwrite=True, **options)
    run_score(on_engine(job, lambda *_: ScriptedEngine()), RecordingProgress())
    rejects = out.with_suffix(".rejects.jsonl")
    read = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return read, [json.loads(line) for line in rejects.read_text().splitlines()] if rejects.exists() else []


@pytest.mark.parametrize(
    ("mode", "kinds", "quarantined"),
    [
        ("auto", ["pointwise", "pairwise", "rank"], [4]),  # row 4 has several shapes: ambiguous
        ("pointwise", ["pointwise", "pointwise"], [2, 3]),
        ("pairwise", ["pairwise", "pairwise"], [1, 3]),
        ("ranked", ["rank", "rank"], [1, 2]),
    ],
)
def test_mode_forces_one_kind_and_quarantines_rows_without_its_fields(
    tmp_path: Path, fake_model_dir: Path, mode: str, kinds: list[str], quarantined: list[int]
) -> None:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(row) for row in MIXED])
    rows, rejects = scored(tmp_path, source, fake_model_dir, mode=mode)
    assert [row["scores"]["kind"] for row in rows] == kinds
    assert [entry["line"] for entry in rejects] == quarantined
    assert len(rows) + len(rejects) == len(MIXED)
    if mode != "auto":
        assert {entry["reason"] for entry in rejects} == {"mode_mismatch"}
        assert f"--mode {mode} reads" in rejects[0]["detail"]


def test_mode_mismatch_names_what_the_row_has() -> None:
    with pytest.raises(
        BadRow, match="--mode pairwise reads chosen\\+rejected or response_a\\+response_b; the row has response"
    ):
        read_score_row({"prompt": "q", "response": "a"}, "pairwise")


def test_mode_is_a_resume_parameter_only_when_forced(tmp_path: Path, fake_model_dir: Path) -> None:
    source = write_lines(tmp_path / "rows.jsonl", [json.dumps(MIXED[0])])
    scored(tmp_path, source, fake_model_dir)
    manifest = json.loads((tmp_path / "scored.manifest.json").read_text())
    assert "mode" not in manifest["parameters"]  # outputs written before --mode existed still resume
    scored(tmp_path, source, fake_model_dir, mode="pointwise")
    assert json.loads((tmp_path / "scored.manifest.json").read_text())["parameters"]["mode"] == "pointwise"


def test_score_reads_parquet_hh_transcripts_and_dataset_folders(tmp_path: Path, fake_model_dir: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"prompt": ["q1", "q2"], "response": ["an answer", None], "n": [1, 2]}), tmp_path / "r.parquet"
    )
    rows, rejects = scored(tmp_path, tmp_path / "r.parquet", fake_model_dir)
    assert [(row["n"], row["scores"]["kind"]) for row in rows] == [(1, "pointwise")]
    assert [(entry["line"], entry["reason"]) for entry in rejects] == [(2, "invalid_row")]  # a null cell is absent

    lock = "\n\nHuman: How do I pick a lock?\n\nAssistant: "
    hh = {"chosen": [lock + "I can't help, it's not good.", lock + "x"], "rejected": [lock + "Use a wrench.", "bad"]}
    datasets.Dataset.from_dict(hh).save_to_disk(tmp_path / "hh")
    rows, rejects = scored(tmp_path, tmp_path / "hh", fake_model_dir)
    assert [row["scores"]["kind"] for row in rows] == ["pairwise"]
    assert rows[0]["chosen"] == hh["chosen"][0]  # the row comes out as it came in, plus scores
    assert rows[0]["scores"]["agrees_with_label"] is True  # the fake judge prefers the 'good' side
    assert [(entry["line"], entry["reason"]) for entry in rejects] == [(2, "invalid_transcript")]
