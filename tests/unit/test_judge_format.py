"""One judge format: every command records the judge's own constant, and no file mixes two formats.

The constant once lived in three modules and drifted (`cai eval` wrote format 2 after the judge moved
to 3): these tests fail if a command writes another format, or if a copy of the constant comes back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import cai
from cai.app import app
from cai.judge import FORMAT_VERSION, recorded_format
from tests.conftest import select_engine, write_lines
from tests.evaluation.helpers import case_prompts, scripted_engine
from tests.fakes import ScriptedEngine

PACKAGE = Path(cai.__file__).parent


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def manifest(output: Path) -> dict[str, Any]:
    return dict(json.loads(output.with_suffix(".manifest.json").read_text()))


def runs(tmp_path: Path, model: Path) -> dict[str, list[str]]:
    """The three commands that write verdicts, each into its own output."""
    prompts = write_lines(tmp_path / "prompts.jsonl", ['{"prompt": "be kind"}', '{"prompt": "be brief"}'])
    pairs = write_lines(tmp_path / "pairs.jsonl", ['{"prompt": "p", "chosen": "a good one", "rejected": "a bad one"}'])
    evals = case_prompts(tmp_path / "eval-prompts.jsonl")
    return {
        "revise": ["revise", str(prompts), "--judge", "--principles", "1", "-m", str(model)],
        "score": ["score", str(pairs), "--principles", "1", "-m", str(model)],
        "eval": ["eval", str(evals), "--model-a", str(model), "--model-b", str(model), "--principles", "1"],
    }


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ScriptedEngine:
    fake = scripted_engine()
    select_engine(monkeypatch, lambda path, args, label: fake)
    return fake


@pytest.mark.parametrize("command", ["revise", "score", "eval"])
def test_every_command_records_the_judges_own_format(
    command: str, engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    output = tmp_path / f"{command}.jsonl"
    result = invoke(*runs(tmp_path, fake_model_dir)[command], "-o", str(output))
    assert result.exit_code == 0, result.output
    assert recorded_format(manifest(output)["parameters"]) == FORMAT_VERSION


@pytest.mark.parametrize("command", ["revise", "score", "eval"])
def test_a_resume_across_judge_formats_is_refused_naming_both(
    command: str, engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    output = tmp_path / f"{command}.jsonl"
    args = [*runs(tmp_path, fake_model_dir)[command], "-o", str(output)]
    assert invoke(*args).exit_code == 0
    written = manifest(output)
    parameters = written["parameters"]
    older = FORMAT_VERSION - 1
    if "judge_format" in parameters:
        parameters["judge_format"] = older
    elif "score_format" in parameters:
        parameters["score_format"] = older
    else:  # eval: the judge's settings are nested
        parameters["judge"]["judge_format"] = older
    written["status"] = "interrupted"
    output.with_suffix(".manifest.json").write_text(json.dumps(written))
    before = output.read_bytes()

    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert f"judge format {older}" in result.stderr and f"judge format {FORMAT_VERSION}" in result.stderr
    assert output.read_bytes() == before


def test_the_judge_format_is_defined_once() -> None:
    """A second definition of a judge format anywhere in the package is the drift this test exists for."""
    assignment = re.compile(r"""(?i)\b(judge|score)_format\w*["']?\s*[:=]\s*\d""")
    copies = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if assignment.search(line)
    ]
    assert copies == []
    definitions = [path for path in PACKAGE.rglob("*.py") if re.search(r"^FORMAT_VERSION = \d", path.read_text(), re.M)]
    assert definitions == [PACKAGE / "judge" / "__init__.py"]
