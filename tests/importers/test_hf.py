"""Hugging Face's CAI recipe → numbered principles and few-shot examples from system_chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cai.errors import InputError
from cai.importers.assemble import assemble
from tests.importers.helpers import COMPARISONS, HF_RECIPE, INSTRUCTIONS, load, write_json

QUESTION = "Which of these assistant responses is less harmful?"


def recipe() -> dict[str, Any]:
    return load(HF_RECIPE)  # type: ignore[return-value]


def test_principles_are_numbered_with_wording_verbatim() -> None:
    result = assemble([HF_RECIPE], None, QUESTION, "hf")
    source = recipe()["constitutions"]
    assert result.data["principles"] == [
        {
            "id": f"principle-0{i + 1}",
            "critique_request": c["critic"],
            "revision_request": c["revision"],
            "comparison": QUESTION,
        }
        for i, c in enumerate(source)
    ]
    assert result.comparison_origin == "one question, from --comparison, for all 2 principles"
    assert result.notes == []


def test_system_chat_becomes_few_shot_examples_with_earlier_turns() -> None:
    first, second = assemble([HF_RECIPE], "hf", QUESTION, "hf").data["few_shot"]
    chats = recipe()["system_chat"]
    assert "history" not in first
    assert [
        first[k] for k in ("prompt", "response", "critique_request", "critique", "revision_request", "revision")
    ] == [turn["content"] for turn in chats[0]]
    assert second["history"] == chats[1][:2]
    assert second["prompt"] == "Which volcano is tallest?"
    assert second["revision"] == chats[1][-1]["content"]


def test_comparisons_can_come_from_the_rlmadison_file() -> None:
    result = assemble([HF_RECIPE, COMPARISONS], None, None, "hf")
    assert result.data["principles"][0]["comparison"].startswith("Please choose the assistant response")
    assert result.notes == [f"{COMPARISONS}: $[2]: comparison question not used: there are only 2 principles"]


def test_without_a_comparison_the_import_stops() -> None:
    with pytest.raises(InputError, match='--comparison "Which of these assistant responses'):
        assemble([HF_RECIPE], None, None, "hf")


def test_unmapped_parts_are_reported(tmp_path: Path) -> None:
    data = recipe()
    data["version"] = 2
    data["constitutions"][0]["tag"] = "rude"
    data["system_chat"][0] = data["system_chat"][0][:4]  # no revision turns
    data["system_chat"][1][0]["name"] = "alice"
    path = write_json(tmp_path / "r.json", data)
    result = assemble([path], None, QUESTION, "hf")
    assert len(result.data["few_shot"]) == 1
    assert result.not_imported == 1
    assert result.notes == [
        f"{path}: $.constitutions[0].tag: not imported (a cai constitution has no such field)",
        f"{path}: $.system_chat[0]: few-shot example not imported: roles user, assistant, user, assistant; expected "
        "user and assistant turns alternating, ending with critic, critique, revision request and revision",
        f"{path}: $.system_chat[1][0].name: not imported (a cai constitution has no such field)",
        f"{path}: $.version: not imported (a cai constitution has no such field)",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["constitutions"][1].pop("critic"), r"\$\.constitutions\[1\]\.critic: missing"),
        (lambda d: d.update(constitutions=[]), r"\$\.constitutions: is an empty list"),
        (lambda d: d["constitutions"][0].update(revision=None), r"\$\.constitutions\[0\]\.revision: expected a str"),
        (lambda d: d.update(system_chat={}), r"\$\.system_chat: expected a list of conversations"),
        (lambda d: d["system_chat"][1][3].pop("content"), r"\$\.system_chat\[1\]\[3\]\.content: missing"),
    ],
)
def test_bad_shapes_name_the_json_path(tmp_path: Path, change: Any, message: str) -> None:
    data = recipe()
    change(data)
    with pytest.raises(InputError, match=message):
        assemble([write_json(tmp_path / "r.json", data)], None, QUESTION, "hf")


def test_format_forces_how_a_file_is_read() -> None:
    with pytest.raises(InputError, match=r"CritiqueRevisionInstructions\.json: \$\.constitutions: missing"):
        assemble([INSTRUCTIONS], "hf", QUESTION, "x")
    with pytest.raises(InputError, match=r'\$\.constitutions: expected an object with "prompt"'):
        assemble([HF_RECIPE], "anthropic", QUESTION, "x")
