"""Reading prompt files: every shape accepted, every bad row reported with its line and field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cai.errors import InputError
from cai.records import read_rows, record_key


def test_jsonl_shapes(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rows = [
        {"prompt": "a"},
        {"id": "x", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "b"}]},
        {"id": 3, "prompt": "c", "response": "given"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    parsed = read_rows(str(path))
    assert [line for line, _ in parsed] == [1, 2, 3]
    assert parsed[0][1].conversation() == ({"role": "user", "content": "a"},)
    assert parsed[1][1].conversation()[0] == {"role": "system", "content": "s"}
    assert parsed[2][1].response == "given"


def test_text_file_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes("\ufefffirst prompt\r\n\r\nsecond prompt\r\n".encode())
    parsed = read_rows(str(path))
    assert [(line, row.prompt) for line, row in parsed] == [(1, "first prompt"), (3, "second prompt")]


def test_stdin_is_sniffed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"prompt": "from stdin"}\n')))
    assert read_rows("-")[0][1].prompt == "from stdin"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"plain prompt\n")))
    assert read_rows("-")[0][1].prompt == "plain prompt"


def test_every_bad_row_is_reported_with_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"prompt": "fine"}',
                "{not json",
                "[1, 2]",
                '{"prompt": 5}',
                '{"prompt": "a", "extra": 1}',
                '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
                '{"id": "no prompt"}',
                '{"prompt": "   "}',
            ]
        )
    )
    with pytest.raises(InputError) as error:
        read_rows(str(path))
    message = str(error.value)
    assert "7 bad row(s)" in message
    for expected in [
        f"{path}:2: invalid JSON",
        f"{path}:3: expected a JSON object",
        f"{path}:4: prompt: Input should be a valid string",
        f"{path}:5: extra: unknown field",
        f"{path}:6: (top level): Value error, 'messages' must end with a user turn",
        f"{path}:7: (top level): Value error, give exactly one of 'prompt'",
        f"{path}:8: (top level): Value error, 'prompt' is blank",
    ]:
        assert expected in message
    assert f"{path}:1:" not in message


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(b"ok\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"p.txt:2: not UTF-8"):
        read_rows(str(path))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError, match="has no prompts"):
        read_rows(str(tmp_path / "empty.txt"))
    with pytest.raises(InputError, match="not found"):
        read_rows(str(tmp_path / "missing.txt"))


def test_key_depends_on_row_and_run(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("a\nb\n")
    (_, a), (_, b) = read_rows(str(path))
    assert record_key(a, "run1") == record_key(a, "run1")
    assert len({record_key(a, "run1"), record_key(b, "run1"), record_key(a, "run2")}) == 3
