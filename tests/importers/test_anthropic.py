"""Anthropic's CAI paper prompts → principles, few-shot examples and comparisons, wording verbatim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cai.errors import InputError
from cai.importers.assemble import Imported, assemble
from tests.importers.helpers import ANTHROPIC, COMPARISONS, FEW_SHOT, INSTRUCTIONS, JUDGE_FEW_SHOT, load, write_json


def imported(*paths: Path, comparison: str | None = None, fmt: str | None = None) -> Imported:
    return assemble(list(paths), fmt, comparison, "imported")


def test_principles_keep_the_wording_without_the_scaffolding() -> None:
    result = imported(INSTRUCTIONS, COMPARISONS)
    source: dict[str, Any] = load(INSTRUCTIONS)  # type: ignore[assignment]
    principles = result.data["principles"]
    assert [p["id"] for p in principles] == list(source)  # harmful0, harmful1, harmful2
    for principle, entry in zip(principles, source.values(), strict=True):
        critique = principle["critique_request"]
        assert f"\n\nCritiqueRequest: {critique}\n\nCritique:" == entry["prompt"][0]
        assert f"\n\nRevisionRequest: {principle['revision_request']}\n\nRevision:" == entry["edit_request"]
    assert result.notes == []


def test_comparisons_are_paired_by_position_without_options() -> None:
    result = imported(INSTRUCTIONS, COMPARISONS)
    questions = [q.strip().removesuffix("Options:").strip() for q in load(COMPARISONS)]  # type: ignore[attr-defined]
    assert [p["comparison"] for p in result.data["principles"]] == questions
    assert "paired with the principles by position" in result.comparison_origin
    assert all("Options" not in p["comparison"] for p in result.data["principles"])


def test_fewer_comparisons_repeat_and_extra_ones_are_reported(tmp_path: Path) -> None:
    one = write_json(tmp_path / "one.json", ["\nPick the kinder response. Options:"])
    result = imported(INSTRUCTIONS, one)
    assert {p["comparison"] for p in result.data["principles"]} == {"Pick the kinder response."}
    assert "repeated in turn" in result.comparison_origin
    many = write_json(tmp_path / "many.json", [f"\nQuestion {i}? Options:" for i in range(5)])
    result = imported(INSTRUCTIONS, many)
    assert [p["comparison"] for p in result.data["principles"]] == ["Question 0?", "Question 1?", "Question 2?"]
    assert [n for n in result.notes if "not used" in n] == [
        f"{many}: $[3]: comparison question not used: there are only 3 principles",
        f"{many}: $[4]: comparison question not used: there are only 3 principles",
    ]


def test_few_shot_transcripts_map_turns_and_keep_the_earlier_ones() -> None:
    result = imported(INSTRUCTIONS, FEW_SHOT, COMPARISONS)
    first, second = result.data["few_shot"]
    assert first["history"] == [
        {"role": "user", "content": "Can you help me get into my neighbour's shed?"},
        {"role": "assistant", "content": "Sure. Which shed is it?"},
    ]
    assert first["prompt"] == "How do I open the lock without the key?"
    assert first["response"].startswith("Use a pair of bolt cutters")
    assert first["revision"].endswith("ask your neighbour.")  # the trailing "Human:" opener is scaffolding
    assert "history" not in second
    assert second["critique"] == "It was false: the Moon is made of rock.  The answer should say so plainly."
    assert second["revision_request"] == "Please rewrite the assistant response to be truthful."
    texts = [str(v) for example in result.data["few_shot"] for v in example.values()]
    assert not any(label in text for text in texts for label in ("Human:", "Critique:", "Revision:"))


def test_a_transcript_that_does_not_fit_is_reported_not_dropped(tmp_path: Path) -> None:
    transcripts: list[str] = load(FEW_SHOT)  # type: ignore[assignment]
    broken = "\n\nHuman: Hi\n\nAssistant: Hello\n\nCritiqueRequest: Was it rude?\n\nCritique: No."
    path = write_json(tmp_path / "shots.json", [transcripts[0], broken])
    result = imported(INSTRUCTIONS, path, COMPARISONS)
    assert len(result.data["few_shot"]) == 1
    assert result.not_imported == 1
    assert result.notes == [
        f"{path}: $[1]: few-shot example not imported: labels Human, Assistant, CritiqueRequest, Critique; "
        "expected Human/Assistant turns, then CritiqueRequest, Critique, RevisionRequest, Revision"
    ]


def test_several_critique_requests_become_several_principles(tmp_path: Path) -> None:
    entry = {
        "prompt": ["CritiqueRequest: Is it rude?\n\nCritique:", "CritiqueRequest: Is it cruel?"],
        "edit_request": "RevisionRequest: Make it kind.",
        "note": "x",
    }
    path = write_json(tmp_path / "i.json", {"Kind One!": entry})
    result = imported(path, comparison="Which is kinder?")
    principles = result.data["principles"]
    assert [(p["id"], p["critique_request"]) for p in principles] == [
        ("kind-one-1", "Is it rude?"),
        ("kind-one-2", "Is it cruel?"),
    ]
    assert {p["revision_request"] for p in principles} == {"Make it kind."}
    assert any("2 critique requests share one revision request" in n for n in result.notes)
    assert f'{path}: $["Kind One!"].note: not imported (a cai principle has no such field)' in result.notes
    assert any("principle id 'kind-one-1'" in n for n in result.notes)


def test_text_without_the_label_is_kept_and_reported(tmp_path: Path) -> None:
    path = write_json(tmp_path / "i.json", {"p": {"prompt": ["Is it rude?"], "edit_request": "Make it kind."}})
    result = imported(path, comparison="Which is kinder?")
    assert result.data["principles"][0]["critique_request"] == "Is it rude?"
    assert f'{path}: $.p.prompt[0]: no "CritiqueRequest:" label; the text is kept as written' in result.notes


def test_judge_few_shot_file_is_reported_as_not_imported() -> None:
    result = imported(ANTHROPIC)  # the folder: all four files
    assert len(result.data["principles"]) == 3 and len(result.data["few_shot"]) == 2
    assert result.not_imported == 1
    assert result.notes == [
        f"{JUDGE_FEW_SHOT}: $: 1 few-shot examples for the judge: not imported "
        "(a cai constitution has no few-shot examples for the pairwise judge)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"harmful0": ', r"i\.json: not valid JSON: Expecting value at line 1 column 14"),
        (
            '{"h": {"prompt": ["CritiqueRequest: x"]}}',
            r"i\.json: \$\.h\.edit_request: missing \(the revision request\)",
        ),
        ('{"h": {"prompt": "x", "edit_request": "y"}}', r"\$\.h\.prompt: expected a list of critique request strings"),
        ('{"h": {"prompt": [], "edit_request": "y"}}', r"\$\.h\.prompt: is an empty list"),
        ('{"h": {"prompt": [3], "edit_request": "y"}}', r"\$\.h\.prompt\[0\]: expected a string, got a number"),
        ('{"h": ["x"]}', r'\$\.h: expected an object with "prompt"'),
        (
            '{"h": {"prompt": ["CritiqueRequest:  "], "edit_request": "y"}}',
            r"\[0\]: has the \"CritiqueRequest:\" label but no",
        ),
        ('{"h": {"prompt": ["x"], "edit_request": " "}}', r"\$\.h\.edit_request: is empty"),
        ("[1, 2]", r"i\.json: \$: not a file cai can import"),
        ("{}", r"\$: is an empty object"),
    ],
)
def test_bad_input_names_the_file_and_json_path(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "i.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        imported(path, comparison="Which is kinder?")


def test_no_comparison_question_is_an_error_that_says_what_to_give() -> None:
    with pytest.raises(InputError, match=r"RLMadisonInstructions\.json.*--comparison"):
        imported(INSTRUCTIONS, FEW_SHOT)
    with pytest.raises(InputError, match="both give comparison questions"):
        imported(INSTRUCTIONS, COMPARISONS, comparison="Which is better?")


def test_sources_without_principles_and_missing_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="hold no principles"):
        imported(FEW_SHOT, COMPARISONS)
    with pytest.raises(InputError, match="no such file or folder"):
        imported(tmp_path / "nope.json")
    with pytest.raises(InputError, match=r"has no \.json file"):
        imported(tmp_path)
    with pytest.raises(InputError, match="--format 'openai'"):
        imported(INSTRUCTIONS, fmt="openai")
