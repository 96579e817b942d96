"""Constitution loading: built-ins by name, strict schema, errors that name the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cai import constitution
from cai.errors import InputError


def test_builtins_are_found_by_name_and_valid() -> None:
    names = constitution.builtin_paths()
    assert {"harmless", "helpful-honest"} <= set(names)
    harmless = constitution.load("harmless")
    assert len(harmless.constitution.principles) >= 12
    assert len(harmless.sha256) == 64
    assert len(constitution.load("helpful-honest").constitution.principles) >= 10


def test_harmless_counts_evasiveness_as_a_failure() -> None:
    ids = {p.id for p in constitution.load("harmless").constitution.principles}
    assert {"preachy", "unhelpful-refusal"} <= ids


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def minimal() -> dict[str, object]:
    principle = {"id": f"p{0}", "critique_request": "c", "revision_request": "r", "comparison": "q"}
    return {"name": "mine", "description": "d", "principles": [principle]}


def test_minimal_file_loads_with_defaults(tmp_path: Path) -> None:
    loaded = constitution.load(str(write(tmp_path, minimal())))
    assert loaded.constitution.defaults.rounds == 1
    assert loaded.constitution.principles[0].weight == 1.0


def test_missing_field_names_the_path_and_file(tmp_path: Path) -> None:
    data = minimal()
    principles = [dict(data["principles"][0], id=f"p{i}") for i in range(5)]  # type: ignore[index]
    del principles[3]["revision_request"]
    path = write(tmp_path, {**data, "principles": principles})
    with pytest.raises(InputError) as error:
        constitution.load(str(path))
    assert str(path) in str(error.value)
    assert "principles[3].revision_request: Field required" in str(error.value)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, {**minimal(), "principels": []})
    with pytest.raises(InputError, match=r"principels: Extra inputs are not permitted"):
        constitution.load(str(path))


def test_duplicate_principle_ids_are_an_error(tmp_path: Path) -> None:
    data = minimal()
    data["principles"] = data["principles"] * 2  # type: ignore[operator]
    with pytest.raises(InputError, match="used twice"):
        constitution.load(str(write(tmp_path, data)))


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


ALIAS_BOMB = _alias_bomb()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['true']\n", r"only plain YAML is allowed \(no tags such as !!python\)"),
        (ALIAS_BOMB, "more than 64 YAML aliases"),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        constitution.load(str(path))


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(InputError, match=r"built-in ones: .*harmless"):
        constitution.load("no-such-constitution")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        constitution.load(str(tmp_path / "missing.yaml"))


def example(history: list[dict[str, str]]) -> dict[str, object]:
    fields = ("prompt", "response", "critique_request", "critique", "revision_request", "revision")
    return {"history": history, **{field: field for field in fields}}


def test_few_shot_history_holds_earlier_turns_in_order(tmp_path: Path) -> None:
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    loaded = constitution.load(str(write(tmp_path, {**minimal(), "few_shot": [example(turns)]})))
    assert [t.role for t in loaded.constitution.few_shot[0].history] == ["user", "assistant"]
    for bad, message in [
        (turns[::-1], r"few_shot\[0\]: Value error, history\[0\] has role assistant"),
        (turns[:1], r"few_shot\[0\]: Value error, history must end with an assistant turn"),
        ([{"role": "system", "content": "x"}], r"few_shot\[0\]\.history\[0\]\.role: Input should be 'user'"),
    ]:
        with pytest.raises(InputError, match=message):
            constitution.load(str(write(tmp_path, {**minimal(), "few_shot": [example(bad)]})))
