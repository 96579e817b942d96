"""`cai review` through the CLI: outputs, exit codes (0, 2 bad input, 3 gate), nothing lost on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cai.app import app
from cai.errors import EXIT_GATE, EXIT_INPUT
from tests.review.helpers import read_jsonl, revise_row, score_row, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def cai(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def sampled(tmp_path: Path, n: int = 6) -> Path:
    source = write_jsonl(tmp_path / "pairs.jsonl", [revise_row(i, p_a=0.3 + 0.05 * i) for i in range(10)])
    code, stdout, stderr = cai("review", "sample", str(source), "-n", str(n), "-o", str(tmp_path / "review.jsonl"))
    assert code == 0, stderr
    assert stdout == ""
    return tmp_path / "review.jsonl"


def test_sample_writes_the_review_and_refuses_to_replace_it(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    assert len(read_jsonl(review)) == 6
    before = review.read_bytes()
    code, _, stderr = cai("review", "sample", str(tmp_path / "pairs.jsonl"), "-o", str(review))
    assert code == EXIT_INPUT and "--overwrite" in stderr
    assert review.read_bytes() == before


def test_an_empty_sample_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "scores.jsonl", [score_row(0, 0.5, kind="pointwise")])
    code, _, stderr = cai("review", "sample", str(source), "-o", str(tmp_path / "review.jsonl"))
    assert code == EXIT_INPUT
    assert "no judged pairs to sample (1 pointwise)" in stderr
    assert not (tmp_path / "review.jsonl").exists()
    (tmp_path / "empty.jsonl").write_text("")
    code, _, stderr = cai("review", "agreement", str(tmp_path / "empty.jsonl"))
    assert code == EXIT_INPUT and "no items" in stderr


def test_label_without_a_terminal_says_so_and_exits_2(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    code, _, stderr = cai("review", "label", str(review), "--reviewer", "ana")
    assert code == EXIT_INPUT
    assert "needs a terminal" in stderr
    assert not review.with_name("review.labels.ana.jsonl").exists()


def test_agreement_json_on_stdout_and_gates_exit_3_listing_each_failure(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    items = read_jsonl(review)
    rows = [{"item": it["item"], "label": "A" if it["shown_A"] == "a" else "B", "reviewer": "ana"} for it in items]
    write_jsonl(tmp_path / "review.labels.ana.jsonl", rows)  # the person always prefers the revision (side a)
    code, stdout, stderr = cai("review", "agreement", str(review), "--json", "-")
    assert code == 0, stderr
    figures = json.loads(stdout)
    judge_a = sum(1 for it in items if it["judge"]["p_a"] > 0.5)
    assert figures["reviewed"] == 6 and figures["agreement"] == judge_a / 6
    assert "agreement" in stderr and "63%–77%" in stderr
    out = tmp_path / "figures.json"
    code, stdout, stderr = cai(
        "review", "agreement", str(review), "--json", str(out), "--min-agreement", "0.99", "--min-reviewed", "50"
    )
    assert code == EXIT_GATE
    assert stdout == ""
    assert "reviewed 6 < --min-reviewed 50" in stderr and "< --min-agreement 0.99" in stderr
    assert json.loads(out.read_text())["reviewed"] == 6  # the figures are written before the gate fails
    code, _, _ = cai("review", "agreement", str(review), "--min-agreement", "0.0", "--min-reviewed", "6")
    assert code == 0


def test_report_computes_the_same_agreement_from_the_review_and_gates_on_it(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    items = read_jsonl(review)
    rows = [{"item": it["item"], "label": "A" if it["shown_A"] == "a" else "B", "reviewer": "ana"} for it in items]
    write_jsonl(tmp_path / "review.labels.ana.jsonl", rows)
    code, stdout, _ = cai("review", "agreement", str(review), "--json", "-")
    expected = json.loads(stdout)
    export, page = tmp_path / "figures.json", tmp_path / "report.html"
    args = ("report", str(tmp_path / "pairs.jsonl"), "-o", str(page), "--json", str(export), "--review", str(review))
    code, _, stderr = cai(*args, "--min", f"agreement={expected['agreement']}")
    assert code == 0, stderr
    figures = json.loads(export.read_text())["figures"]
    assert figures["agreement"] == expected["agreement"] and figures["reviewed"] == expected["reviewed"] == 6
    code, _, stderr = cai(*args, "--min", "agreement=0.99")
    assert code == EXIT_GATE and "agreement is" in stderr
    code, _, stderr = cai(*args, "--agreement", str(export))
    assert code == 2 and "not both" in stderr


def test_labels_for_unknown_items_and_duplicates(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    first = read_jsonl(review)[0]["item"]
    rows = [
        {"item": first, "label": "A", "reviewer": "ana"},
        {"item": "not-in-review", "label": "B", "reviewer": "ana"},
        {"item": first, "label": "B", "reviewer": "ana"},
    ]
    labels = write_jsonl(tmp_path / "elsewhere.jsonl", rows)
    code, stdout, stderr = cai("review", "agreement", str(review), "--labels", str(labels), "--json", "-")
    assert code == 0, stderr
    figures = json.loads(stdout)
    assert figures["bad_label_rows"] == 1 and figures["bad_labels"][0]["line"] == 2
    assert figures["bad_labels"][0]["reason"] == "unknown_item"
    assert figures["duplicate_labels"] == 1 and figures["reviewed"] == 1
    assert "elsewhere.jsonl:2: unknown_item" in stderr


def test_import_appends_good_rows_and_quarantines_bad_ones(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    keys = [it["item"] for it in read_jsonl(review)]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"item,label\n{keys[0]},A\nghost,B\n{keys[1]},sideways\n{keys[2]},tie\n")
    code, _, stderr = cai("review", "import", str(review), str(sheet), "--reviewer", "bo")
    assert code == 0, stderr
    assert [(r["item"], r["label"], r["reviewer"]) for r in read_jsonl(tmp_path / "review.labels.bo.jsonl")] == [
        (keys[0], "A", "bo"),
        (keys[2], "tie", "bo"),
    ]
    rejects = read_jsonl(tmp_path / "review.labels.bo.rejects.jsonl")
    assert [(r["line"], r["reason"]) for r in rejects] == [(3, "unknown_item"), (4, "invalid_row")]
    sheet.write_text("item,label\nghost,B\n")
    code, _, stderr = cai("review", "import", str(review), str(sheet), "--reviewer", "bo")
    assert code == EXIT_INPUT and "no usable label rows" in stderr
    assert len(read_jsonl(tmp_path / "review.labels.bo.jsonl")) == 2  # nothing lost


def test_a_hand_edited_review_file_is_an_error_naming_file_line_and_field(tmp_path: Path) -> None:
    review = sampled(tmp_path)
    lines = review.read_text().splitlines()
    row = json.loads(lines[2])
    row["shown_A"] = "c"
    lines[2] = json.dumps(row)
    review.write_text("\n".join(lines) + "\n")
    code, _, stderr = cai("review", "agreement", str(review))
    assert code == EXIT_INPUT
    assert "review.jsonl:3: shown_A:" in stderr
    lines[2] = lines[1]
    review.write_text("\n".join(lines) + "\n")
    code, _, stderr = cai("review", "label", str(review), "--reviewer", "ana")
    assert code == EXIT_INPUT and "repeats line 2" in stderr


def test_help_stays_light_the_ui_and_statistics_are_not_imported() -> None:
    code = (
        "import sys, cai.app; print(sorted({'textual', 'scipy', 'sklearn', 'krippendorff', 'vllm'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'cli'}:{ROOT}"},
    )
    assert done.stdout.strip() == "[]"
