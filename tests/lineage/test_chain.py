"""Manifests record what each run read; `cai lineage` follows an eval back through a model to its pairs' prompts.

The whole chain on the scripted engine: prompts → cai revise → pairs → cai score → scored pairs →
(a training step, stood in for by a folder and `cai lineage record`) → v2 → cai eval → eval rows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.runs.digest import folder_digest
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def chain(use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> dict[str, Path]:
    prompts = write_lines(tmp_path / "prompts.jsonl", ['{"prompt": "How do I pick a lock?"}', '{"prompt": "Hi"}'])
    pairs, scored, evaluated = tmp_path / "pairs.jsonl", tmp_path / "scored.jsonl", tmp_path / "eval.jsonl"
    model = ["--model", str(fake_model_dir)]
    for args in (["revise", str(prompts), "-o", str(pairs), *model], ["score", str(pairs), "-o", str(scored), *model]):
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "config.json").write_text('{"model_type": "llama"}')
    (v2 / "model.safetensors").write_bytes(b"trained weights")
    recorded = invoke("lineage", "record", str(v2), "--trained-on", str(scored), "--base", str(fake_model_dir))
    assert recorded.exit_code == 0, recorded.stderr
    result = invoke("eval", str(prompts), "--model-a", str(fake_model_dir), "--model-b", str(v2),
                    "--judge-model", str(fake_model_dir), "--principles", "1", "-o", str(evaluated))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return {"prompts": prompts, "pairs": pairs, "scored": scored, "eval": evaluated, "v2": v2, "v1": fake_model_dir}


def test_every_manifest_records_the_sha256_of_what_its_run_read(chain: dict[str, Path]) -> None:
    revise = json.loads((chain["pairs"].parent / "pairs.manifest.json").read_text())["inputs"]
    assert revise["files"]["input"] == {"path": str(chain["prompts"]), "sha256": sha256(chain["prompts"]),
                                        "bytes": chain["prompts"].stat().st_size}  # fmt: skip
    assert revise["constitution"]["sha256"].startswith("e3407bad")  # the harmless constitution's file
    assert revise["models"]["model"]["sha256"] == folder_digest(chain["v1"]).sha256
    score = json.loads((chain["pairs"].parent / "scored.manifest.json").read_text())["inputs"]
    assert score["files"]["input"]["sha256"] == sha256(chain["pairs"])
    evaluated = json.loads((chain["pairs"].parent / "eval.manifest.json").read_text())["inputs"]
    assert set(evaluated["files"]) == {"prompts"} and set(evaluated["models"]) == {"a", "b", "judge"}
    assert evaluated["models"]["b"]["sha256"] == folder_digest(chain["v2"]).sha256
    record = json.loads((chain["v2"] / "cai-lineage.json").read_text())
    assert record["trained_on"][0]["sha256"] == sha256(chain["scored"])
    assert record["model"]["sha256"] == folder_digest(chain["v2"]).sha256  # the record is not part of the hash
    assert record["base"]["sha256"] == folder_digest(chain["v1"]).sha256


def walk(node: dict[str, Any], *roles: str) -> dict[str, Any]:
    for role in roles:
        (node,) = [child for child in node["children"] if child["role"] == role]
    return node


def test_lineage_follows_eval_to_v2_to_its_pairs_and_their_prompts(chain: dict[str, Path]) -> None:
    result = invoke("lineage", str(chain["eval"]), "--json")
    assert result.exit_code == 0, result.stderr
    root = json.loads(result.stdout)
    assert root["made_by"].startswith("cai eval (complete") and root["sha256"] == sha256(chain["eval"])
    v2 = walk(root, "model b")
    assert v2["path"] == str(chain["v2"]) and v2["made_by"].startswith("trained (recorded")
    scored = walk(v2, "trained on")
    assert scored["kind"] == "output" and scored["made_by"].startswith("cai score")
    pairs = walk(scored, "input")
    assert pairs["path"] == str(chain["pairs"]) and pairs["made_by"].startswith("cai revise")
    source = walk(pairs, "input")
    assert source["kind"] == "source" and source["sha256"] == sha256(chain["prompts"]) and not source["children"]
    assert walk(v2, "base")["sha256"] == folder_digest(chain["v1"]).sha256
    text = invoke("lineage", "show", str(chain["eval"]))  # `cai lineage FILE` is `cai lineage show FILE`
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"output: {chain['eval']}  sha256 {sha256(chain['eval'])[:12]}  ← cai eval")
    assert any(f"trained on: {chain['scored']}" in line and "← cai score" in line for line in lines)
    assert any("(a source: no cai manifest beside it)" in line for line in lines)
    assert invoke("lineage", str(chain["v2"])).stdout.splitlines()[0].startswith(f"model: {chain['v2']}")


def test_a_file_rewritten_after_it_was_read_is_flagged_not_followed(chain: dict[str, Path]) -> None:
    again = invoke("revise", str(chain["prompts"]), "-o", str(chain["pairs"]), "--model", str(chain["v1"]),
                   "--seed", "7", "--overwrite")  # fmt: skip
    assert again.exit_code == 0, again.stderr
    pairs = walk(json.loads(invoke("lineage", str(chain["scored"]), "--json").stdout), "input")
    assert any(note.startswith("changed since") for note in pairs["notes"])
    assert any("describes another version" in note for note in pairs["notes"]) and pairs["made_by"] is None
    (chain["v2"] / "model.safetensors").write_bytes(b"trained further")
    v2 = walk(json.loads(invoke("lineage", str(chain["eval"]), "--json").stdout), "model b")
    assert any("weights now hash to" in note for note in v2["notes"])
    assert any("written for other weights" in note for note in v2["notes"])


def test_an_old_manifest_without_inputs_still_resumes(chain: dict[str, Path], fake_model_dir: Path) -> None:
    manifest_path = chain["pairs"].parent / "pairs.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["inputs"]
    manifest_path.write_text(json.dumps(manifest))
    write_lines(chain["prompts"], ['{"prompt": "How do I pick a lock?"}', '{"prompt": "Hi"}', '{"prompt": "New"}'])
    result = invoke("revise", str(chain["prompts"]), "-o", str(chain["pairs"]), "--model", str(fake_model_dir))
    assert result.exit_code == 0, result.stderr
    assert "resuming: 2 of 3 rows are already done" in result.stderr
    assert "inputs" in json.loads(manifest_path.read_text())  # the resumed run records them
    manifest_path.write_text(json.dumps(manifest))
    shown = invoke("lineage", str(chain["pairs"]))
    assert shown.exit_code == 0 and "records no inputs" in shown.stdout


def test_bad_targets_and_records_exit_2(tmp_path: Path, fake_model_dir: Path) -> None:
    loose = write_lines(tmp_path / "loose.jsonl", ["{}"])
    result = invoke("lineage", str(loose))
    assert result.exit_code == 2 and "no manifest beside it (loose.manifest.json)" in result.stderr
    result = invoke("lineage", "record", str(tmp_path), "--trained-on", str(loose))
    assert result.exit_code == 2 and "not a saved model folder" in result.stderr
    result = invoke("lineage", "record", str(fake_model_dir), "--trained-on", str(tmp_path / "gone.jsonl"))
    assert result.exit_code == 2 and "gone.jsonl: no such file" in result.stderr
    result = invoke("lineage", "record", str(fake_model_dir), "--trained-on", str(loose), "--base", "/nowhere")
    assert result.exit_code == 2 and "--base /nowhere: no such model folder" in result.stderr
    assert not (fake_model_dir / "cai-lineage.json").exists()  # nothing written on bad input
    (fake_model_dir / "cai-lineage.json").write_text('{"lineage_format": 1, "surprise": true}')
    result = invoke("lineage", str(fake_model_dir))
    assert result.exit_code == 2 and "not a cai lineage record" in result.stderr and "surprise" in result.stderr
