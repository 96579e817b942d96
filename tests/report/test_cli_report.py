"""`cai report` from the command line: outputs, gates (exit 3), agreement files, and bad input (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.errors import EXIT_GATE, EXIT_INPUT
from cai.report.names import FIGURE_NAMES
from tests.report.builders import revise_row, score_row, verdict, words, write_rows

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT: dict[str, Any] = {
    "reviewed": 40,
    "agreement": 0.75,
    "agreement_ci": [0.6, 0.86],
    "agreement_with_ties": 0.7,
    "kappa": 0.5,
    "kappa_ci": [0.3, 0.7],
    "weighted_agreement": 0.72,
    "weighted_agreement_ci": [0.6, 0.8],
    "brier": 0.2,
    "ece": 0.08,
    "reliability": [
        {"low": 0.0, "high": 0.5, "count": 15, "mean_p": 0.3, "observed": 0.4},
        {"low": 0.5, "high": 1.0, "count": 25, "mean_p": 0.7, "observed": 0.8},
    ],
    "longer_baseline": 0.6,
    "per_reviewer": {"ana": 20},  # extra keys of cai review's file are allowed
}


def cai(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    """4 judged revise pairs: chosen 40 chars longer and preferred in 3 of them, one cut at max_tokens."""
    rows = [
        revise_row("Explain vaccines and immunity.", words(15, "immune"), words(10, "vaccine"), verdict(p), line=i)
        for i, p in enumerate((0.9, 0.8, 0.7), 1)
    ]
    rows.append(
        revise_row(
            "Explain vaccines.", words(15, "immune"), words(10, "vaccine"), verdict(0.4), finish=("length",), line=4
        )
    )
    return write_rows(tmp_path / "pairs.jsonl", rows)


def test_writes_page_json_and_headline(pairs: Path, tmp_path: Path) -> None:
    page, export = tmp_path / "out" / "report.html", tmp_path / "figures.json"
    code, stdout, stderr = cai("report", str(pairs), "-o", str(page), "--json", str(export))
    assert code == 0, stderr
    assert stdout == ""  # stdout carries data only
    assert "length_bias" in stderr and "75.0%" in stderr and str(page) in stderr
    data = json.loads(export.read_text())
    assert list(data["figures"]) == list(FIGURE_NAMES)
    assert data["figures"]["length_bias"] == pytest.approx(0.75)
    assert data["figures"]["truncated_chosen"] == pytest.approx(0.25)
    html = page.read_text()
    assert html.count("<svg") >= 4
    assert not (tmp_path / "out" / "report.html.partial").exists()


def test_flags_rows_go_to_stdout_for_jq(pairs: Path, tmp_path: Path) -> None:
    code, stdout, stderr = cai("report", str(pairs), "-o", str(tmp_path / "r.html"), "--flags-out", "-")
    assert code == 0, stderr
    flags = [json.loads(line) for line in stdout.splitlines()]
    assert [row["where"] for row in flags] == [f"{pairs}:{i}" for i in range(1, 5)]
    assert [row["longer_preferred"] for row in flags] == [True, True, True, False]
    assert [row["truncated_chosen"] for row in flags] == [False, False, False, True]


def test_gates_pass_and_fail_with_exit_3(pairs: Path, tmp_path: Path) -> None:
    page = str(tmp_path / "r.html")
    code, _, stderr = cai("report", str(pairs), "-o", page, "--max", "length_bias=0.8", "--max", "truncated_chosen=0.3")
    assert code == 0, stderr
    code, _, stderr = cai(
        "report",
        str(pairs),
        "-o",
        page,
        "--max",
        "length_bias=0.7",
        "--max",
        "truncated_chosen=0.05",
        "--min",
        "pairs=1",
    )
    assert code == EXIT_GATE
    assert "2 of 3 gates failed" in stderr
    assert "--max length_bias=0.7: length_bias is 0.75" in stderr
    assert "--max truncated_chosen=0.05: truncated_chosen is 0.25" in stderr
    assert Path(page).exists()  # the page is written before the gates are checked


def test_gate_on_an_undefined_figure_fails(pairs: Path, tmp_path: Path) -> None:
    code, _, stderr = cai("report", str(pairs), "-o", str(tmp_path / "r.html"), "--min", "agreement=0.7")
    assert code == EXIT_GATE
    assert "--min agreement=0.7: undefined on this data" in stderr


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("length_bais=0.7", "unknown figure length_bais in a gate; figures: rows, pairs"),
        ("length_bias", "expected NAME=VALUE with a number"),
        ("length_bias=high", "expected NAME=VALUE with a number"),
    ],
)
def test_bad_gates_are_usage_errors(pairs: Path, tmp_path: Path, gate: str, message: str) -> None:
    code, _, stderr = cai("report", str(pairs), "-o", str(tmp_path / "r.html"), "--max", gate)
    assert code == EXIT_INPUT
    assert message in stderr
    assert not (tmp_path / "r.html").exists()


def test_agreement_file_is_folded_in_under_its_names(pairs: Path, tmp_path: Path) -> None:
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps(AGREEMENT))
    export = tmp_path / "figures.json"
    args = ("report", str(pairs), "-o", str(tmp_path / "r.html"), "--json", str(export), "--agreement", str(agreement))
    code, _, stderr = cai(*args, "--min", "agreement=0.7", "--max", "ece=0.1")
    assert code == 0, stderr
    data = json.loads(export.read_text())
    assert data["figures"]["agreement"] == 0.75 and data["figures"]["kappa_ci"] == [0.3, 0.7]
    assert data["reliability"] == [
        {k: b[k] for k in ("low", "high", "count", "mean_p", "observed")} for b in AGREEMENT["reliability"]
    ]
    assert 'id="plot-reliability" class="" data-empty="no"' in (tmp_path / "r.html").read_text()
    code, _, stderr = cai(*args, "--min", "agreement=0.8")
    assert code == EXIT_GATE and "agreement is 0.75" in stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kappa": None, "agreement": "high"}, "agreement: expected a number or null"),
        (
            {"ece": None, "brier": None, "agreement_ci": [0.9, 0.1]},
            "agreement_ci: expected two numbers (low, high) with low <= high",
        ),
        ({"reliability": [{"low": 0, "high": 1}]}, "reliability[0]: expected an object with low, high, count"),
    ],
)
def test_bad_agreement_files_are_input_errors(
    pairs: Path, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps({**AGREEMENT, **change}))
    code, _, stderr = cai("report", str(pairs), "-o", str(tmp_path / "r.html"), "--agreement", str(agreement))
    assert code == EXIT_INPUT
    assert message in stderr


def test_agreement_file_missing_a_figure(pairs: Path, tmp_path: Path) -> None:
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps({k: v for k, v in AGREEMENT.items() if k != "kappa"}))
    code, _, stderr = cai("report", str(pairs), "-o", str(tmp_path / "r.html"), "--agreement", str(agreement))
    assert code == EXIT_INPUT
    assert "not a `cai review agreement --json` file: missing kappa" in stderr


def _bad_inputs(tmp_path: Path, pairs: Path) -> dict[str, tuple[list[str], str]]:
    scored = write_rows(tmp_path / "scored.jsonl", [score_row("a", "b", 0.6)])
    unknown = write_rows(tmp_path / "unknown.jsonl", [{"prompt": "p", "text": "not a pair"}])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(pairs.read_text().splitlines()[0] + "\n{not json\n")
    bad_verdict = write_rows(tmp_path / "verdict.jsonl", [revise_row("p", "a", "b", {"p_a": 2})])
    return {
        "unknown shape": ([str(unknown)], f"{unknown}:1: not a preference pair: expected chosen/rejected"),
        "mixed files": (
            [str(pairs), str(scored)],
            f"{scored}:1: a `cai score` row, but {pairs}:1 is a `cai revise` row",
        ),
        "empty file": ([str(empty)], f"{empty}: empty file: no rows to report on"),
        "invalid JSON": ([str(broken)], f"{broken}:2: invalid JSON"),
        "bad verdict": ([str(bad_verdict)], f"{bad_verdict}:1: cai.judge: expected a pairwise verdict"),
        "missing file": ([str(tmp_path / "nope.jsonl")], "nope.jsonl: no such file"),
    }


@pytest.mark.parametrize(
    "case", ["unknown shape", "mixed files", "empty file", "invalid JSON", "bad verdict", "missing file"]
)
def test_bad_input_is_a_clear_error_with_exit_2(pairs: Path, tmp_path: Path, case: str) -> None:
    inputs, message = _bad_inputs(tmp_path, pairs)[case]
    code, stdout, stderr = cai("report", *inputs, "-o", str(tmp_path / "r.html"))
    assert code == EXIT_INPUT, stderr
    assert message in " ".join(stderr.split())
    assert stdout == ""
    assert not (tmp_path / "r.html").exists()


def test_bad_input_leaves_no_flags_file(pairs: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(pairs.read_text() + "{not json\n")
    flags = tmp_path / "flags.jsonl"
    code, _, stderr = cai("report", str(broken), "-o", str(tmp_path / "r.html"), "--flags-out", str(flags))
    assert code == EXIT_INPUT, stderr
    assert list(tmp_path.glob("flags.jsonl*")) == []


def test_report_package_imports_no_engine_and_help_stays_light() -> None:
    code = (
        "import sys, cai.app, cai.report.run, cai.report.page, cai.report.plots, cai.report.gates; "
        "heavy = {'matplotlib', 'scipy', 'sklearn', 'jinja2', 'vllm', 'torch'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "cli"), str(ROOT)])}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
    report_only = "import sys, cai.report.run, cai.report.page, cai.report.plots; print('cai.engines' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", report_only], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_reads_stdin(pairs: Path, tmp_path: Path) -> None:
    export = tmp_path / "figures.json"
    result = CliRunner().invoke(
        app, ["report", "-", "-o", str(tmp_path / "r.html"), "--json", str(export)], input=pairs.read_text()
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(export.read_text())
    assert data["inputs"] == ["<stdin>"] and data["figures"]["pairs"] == 4


def test_a_figure_equal_to_its_bound_passes(pairs: Path, tmp_path: Path) -> None:
    page = str(tmp_path / "r.html")
    code, _, stderr = cai("report", str(pairs), "-o", page, "--max", "length_bias=0.75", "--min", "length_bias=0.75")
    assert code == 0, stderr
