"""`cai constitution schema`: the JSON Schema editors validate constitutions with, and the committed copy."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cai import constitution
from cai.app import app

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "constitutions" / constitution.SCHEMA_FILE


def printed() -> str:
    result = CliRunner().invoke(app, ["constitution", "schema"])
    assert result.exit_code == 0
    return result.stdout


def test_the_committed_schema_is_what_the_command_prints() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == printed(), (
        "constitutions/constitution.schema.json is stale: run `cai constitution schema > "
        "constitutions/constitution.schema.json`"
    )


def test_the_schema_is_strict_and_names_the_fields() -> None:
    schema = json.loads(printed())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "description", "principles"]
    principle = schema["$defs"]["Principle"]
    assert principle["additionalProperties"] is False
    assert set(principle["required"]) == {"id", "critique_request", "revision_request", "comparison"}


@pytest.mark.parametrize("name", ["harmless", "helpful-honest"])
def test_shipped_constitutions_point_to_the_schema_and_pass_it(name: str) -> None:
    path = constitution.builtin_paths()[name]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"{constitution.SCHEMA_MODELINE}{constitution.SCHEMA_FILE}"
    assert (path.parent / constitution.SCHEMA_FILE).is_file()
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(printed()))


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    data = yaml.safe_load(constitution.builtin_paths()["harmless"].read_text())
    data["principles"][0]["critque_request"] = "typo"
    with pytest.raises(jsonschema.ValidationError, match="critque_request"):
        jsonschema.validate(data, json.loads(printed()))
