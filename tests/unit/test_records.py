"""Reading prompt files: every shape accepted, every bad row quarantined with its line and reason."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cai.errors import InputError
from cai.io.keys import record_key
from cai.io.lines import scan_rows
from cai.io.records import MAX_ROW_BYTES, PromptRow, Scan, validate_prompt_row
from tests.poison import POISON


def test_jsonl_shapes(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rows = [
        {"prompt": "a"},
        {"id": "x", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "b"}]},
        {"id": 3, "prompt": "c", "response": "given"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    parsed = scan(str(path))
    assert parsed.rejects == []
    assert [line for line, _ in parsed.rows] == [1, 2, 3]
    assert parsed.rows[0][1].conversation() == ({"role": "user", "content": "a"},)
    assert parsed.rows[1][1].conversation()[0] == {"role": "system", "content": "s"}
    assert parsed.rows[2][1].response == "given"


def test_text_file_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes("\ufefffirst prompt\r\n\r\nsecond prompt\r\n".encode())
    parsed = scan(str(path))
    assert [(line, row.prompt) for line, row in parsed.rows] == [(1, "first prompt"), (3, "second prompt")]


def test_stdin_is_sniffed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"prompt": "from stdin"}\n')))
    assert scan("-").rows[0][1].prompt == "from stdin"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"plain prompt\n")))
    assert scan("-").rows[0][1].prompt == "plain prompt"


def test_every_bad_row_kind_is_quarantined_with_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "poison.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(line for line, _, _ in POISON) + b"\r\n")
    parsed = scan(str(path), max_row_bytes=1000)
    assert [line for line, _ in parsed.rows] == [1, len(POISON)]
    expected = [(n, reason, detail) for n, (_, reason, detail) in enumerate(POISON, start=1) if reason]
    assert [(r.line, r.reason) for r in parsed.rejects] == [(n, reason) for n, reason, _ in expected]
    for entry, (_, _, detail) in zip(parsed.rejects, expected, strict=True):
        assert detail in entry.detail
        assert len(entry.raw) <= 501
    assert len({r.key for r in parsed.rejects}) == len(parsed.rejects)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError, match="has no prompts"):
        scan(str(tmp_path / "empty.txt"))
    with pytest.raises(InputError, match="not found"):
        scan(str(tmp_path / "missing.txt"))


def test_key_depends_on_row_and_run(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("a\nb\n")
    (_, a), (_, b) = scan(str(path)).rows
    assert record_key(a.model_dump(), "run1") == record_key(a.model_dump(), "run1")
    assert (
        len(
            {record_key(a.model_dump(), "run1"), record_key(b.model_dump(), "run1"), record_key(a.model_dump(), "run2")}
        )
        == 3
    )


def scan(source: str, max_row_bytes: int = MAX_ROW_BYTES) -> Scan[PromptRow]:
    """A prompt file read as `cai revise` reads JSONL and text."""
    return scan_rows(source, "auto", max_row_bytes, validate_prompt_row)
