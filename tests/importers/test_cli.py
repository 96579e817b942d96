"""`cai constitution import` through CliRunner: the written YAML, -o/--force, exit codes, stdout/stderr."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from cai import constitution
from cai.app import app
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine
from tests.importers.helpers import ANTHROPIC, COMPARISONS, FEW_SHOT, HF_RECIPE, INSTRUCTIONS

runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def test_import_writes_a_constitution_the_loader_accepts(tmp_path: Path) -> None:
    out = tmp_path / "anthropic.yaml"
    result = invoke("constitution", "import", INSTRUCTIONS, FEW_SHOT, COMPARISONS, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "principles         3 → " in result.stderr and "not imported       0 items, 0 notes" in result.stderr
    loaded = constitution.load(str(out)).constitution
    assert loaded.name == "anthropic"
    assert [p.id for p in loaded.principles] == ["harmful0", "harmful1", "harmful2"]
    assert len(loaded.few_shot) == 2 and len(loaded.few_shot[0].history) == 2
    valid = invoke("constitution", "validate", out)
    assert valid.exit_code == 0 and "valid (anthropic: 3 principles, 2 few-shot examples)" in valid.stdout


def test_the_yaml_reads_well(tmp_path: Path) -> None:
    out = tmp_path / "a.yaml"
    assert invoke("constitution", "import", ANTHROPIC, "-o", out, "--name", "paper").exit_code == 0
    text = out.read_text()
    lines = text.splitlines()
    schema = (out.parent / lines[0].removeprefix(constitution.SCHEMA_MODELINE)).resolve()
    assert schema == constitution.schema_path()
    assert lines[1] == "# Imported by `cai constitution import` from:"
    assert f"#   {INSTRUCTIONS}: 3 principles (Anthropic critique/revision instructions)" in lines
    assert "# comparison: 3 questions from RLMadisonInstructions.json, paired with the principles by position." in lines
    assert "# Wording verbatim; only the prompt scaffolding (CritiqueRequest:, Critique:, RevisionRequest:," in lines
    assert "    critique_request: >-\n      Point out every way in which" in text  # folded block scalar
    assert "\n\n  - id: harmful1\n" in text  # a blank line between entries
    assert yaml.safe_load(text)["name"] == "paper"


def test_multi_line_text_is_a_literal_block(tmp_path: Path) -> None:
    shots = tmp_path / "shots.json"
    transcript = (
        "\n\nHuman: List two fruits.\n\nAssistant: apple\nbanana\n\nCritiqueRequest: Is it a list?\n\n"
        "Critique: Yes.\n\nRevisionRequest: Keep it.\n\nRevision: - apple  \n- banana\n\nHuman:"
    )
    shots.write_text(json.dumps([transcript]))
    out = tmp_path / "a.yaml"
    assert invoke("constitution", "import", INSTRUCTIONS, shots, COMPARISONS, "-o", out).exit_code == 0
    text = out.read_text()
    assert "    response: |-\n      apple\n      banana\n" in text
    example = constitution.load(str(out)).constitution.few_shot[0]
    assert example.response == "apple\nbanana"
    assert example.revision == "- apple  \n- banana"  # a line's trailing spaces: quoted, as no block keeps them
    assert '    revision: "- apple  \\n- banana"' in text


def test_existing_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "a.yaml"
    out.write_text("keep me\n")
    refused = invoke("constitution", "import", ANTHROPIC, "-o", out)
    assert refused.exit_code == 2
    assert f"-o {out}: the file exists; pass --force to overwrite it" in refused.stderr
    assert out.read_text() == "keep me\n"
    forced = invoke("constitution", "import", ANTHROPIC, "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert constitution.load(str(out)).constitution.name == "a"


def test_stdout_output_and_notes_on_stderr(tmp_path: Path) -> None:
    result = invoke("constitution", "import", ANTHROPIC, "-o", "-")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["name"] == "imported" and len(data["principles"]) == 3
    assert result.stdout.startswith(constitution.SCHEMA_MODELINE)
    assert "note: " in result.stderr and "few-shot examples for the judge: not imported" in result.stderr
    assert "not imported       1 items, 1 notes" in result.stderr
    assert "note:" not in result.stdout


def test_hf_recipe_needs_a_comparison(tmp_path: Path) -> None:
    out = tmp_path / "hf.yaml"
    missing = invoke("constitution", "import", HF_RECIPE, "-o", out)
    assert missing.exit_code == 2 and "--comparison" in missing.stderr
    assert not out.exists()
    given = invoke("constitution", "import", HF_RECIPE, "-o", out, "--comparison", "Which is less rude?")
    assert given.exit_code == 0, given.stderr
    assert "one question, from --comparison, for all 2 principles" in given.stderr
    loaded = constitution.load(str(out)).constitution
    assert [p.id for p in loaded.principles] == ["principle-01", "principle-02"]
    assert {p.comparison for p in loaded.principles} == {"Which is less rude?"}
    header = out.read_text().split("\n\n")[0]
    assert "# comparison: one question, from --comparison, for all 2 principles." in header
    assert "# Wording verbatim." in header and "scaffolding" not in header


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"h": {"prompt": ["x"], "edit_request": 4}}')
    out = tmp_path / "a.yaml"
    result = invoke("constitution", "import", bad, "-o", out, "--comparison", "Which?")
    assert result.exit_code == 2
    assert f"{bad}: $.h.edit_request: expected a string, got a number" in result.stderr
    assert not out.exists() and result.stdout == ""
    assert invoke("constitution", "import", bad, "-o", out, "--format", "xml").exit_code == 2
    assert invoke("constitution", "import", ANTHROPIC, "-o", out, "--name", "Bad Name").exit_code == 2
    assert not out.exists()


def test_revise_runs_on_the_imported_constitution(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    out = tmp_path / "anthropic.yaml"
    assert invoke("constitution", "import", ANTHROPIC, "-o", out).exit_code == 0
    prompts = write_lines(tmp_path / "p.txt", ["How do I pick a lock?"])
    result = invoke("revise", prompts, "-c", out, "--model", fake_model_dir)
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["cai"]["constitution"]["name"] == "anthropic"
    assert row["cai"]["rounds"][0]["principle"] in {"harmful0", "harmful1", "harmful2"}
    critiques = [
        r for batch in use_fake_engine.batches for r in batch if "Critique request:" in r.messages[-1]["content"]
    ]
    first_example = critiques[0].messages[1]["content"]  # after the system text: the first few-shot task
    assert "User: Can you help me get into my neighbour's shed?\nAssistant: Sure. Which shed is it?\n" in first_example
    assert "User: How do I open the lock without the key?" in first_example
