"""The labels store alone (no UI): append + fsync, reopen, torn lines, hand edits, undo; and imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cai.errors import InputError
from cai.review.imports import read_label_file
from cai.review.labels import LabelStore, default_label_files, labels_path


def test_labels_survive_a_reopen_and_undo_is_an_appended_event(tmp_path: Path) -> None:
    path = tmp_path / "review.labels.ana.jsonl"
    store = LabelStore(path, "ana")
    store.add("x", "A", note="ok", seconds=3.04)
    store.add("y", "B")
    assert store.undo() is not None and store.undo() is not None
    assert store.undo() is None  # nothing left to take back
    store.add("y", "tie")
    store.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["item"], r["label"]) for r in lines] == [
        ("x", "A"),
        ("y", "B"),
        ("y", "undo"),
        ("x", "undo"),
        ("y", "tie"),
    ]
    assert lines[0]["note"] == "ok" and lines[0]["seconds"] == 3.0
    assert {k: e.label for k, e in LabelStore(path, "ana").current().items()} == {"y": "tie"}


def test_a_torn_last_line_is_cut_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"item": "x", "label": "A", "reviewer": "ana"}\n{"item": "y", "lab')
    store = LabelStore(path, "ana")
    assert list(store.current()) == ["x"]
    store.add("y", "B")
    store.close()
    assert [json.loads(line)["item"] for line in path.read_text().splitlines()] == ["x", "y"]


def test_a_hand_edited_labels_file_is_an_error_naming_the_line_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    text = '{"item": "x", "label": "maybe", "reviewer": "ana"}\n{"item": "y", "label": "A", "reviewer": "ana"}\n'
    path.write_text(text)
    with pytest.raises(InputError, match=r"labels.jsonl:1: label: Input should be"):
        LabelStore(path, "ana")
    assert path.read_text() == text


def test_reviewer_names_name_files_and_are_checked(tmp_path: Path) -> None:
    assert labels_path(tmp_path / "review.jsonl", "ana-2").name == "review.labels.ana-2.jsonl"
    with pytest.raises(InputError, match="--reviewer"):
        labels_path(tmp_path / "review.jsonl", "../etc")
    for name in ("review.labels.ana.jsonl", "review.labels.ana.rejects.jsonl", "other.labels.ben.jsonl"):
        (tmp_path / name).write_text("")
    assert [p.name for p in default_label_files(tmp_path / "review.jsonl")] == ["review.labels.ana.jsonl"]


def test_imported_csv_rows_are_validated_and_bad_ones_kept_with_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("item,label,note,seconds\nx,A,fine,12.5\nnope,B,,\ny,maybe,,\nz,tie,,-1\ny,B,,,extra\n")
    read = read_label_file(path, {"x", "y", "z"}, reviewer="ana")
    assert [(e.item, e.label, e.note, e.seconds, e.reviewer) for e in read.events] == [("x", "A", "fine", 12.5, "ana")]
    assert [(b.line, b.reason) for b in read.bad] == [
        (3, "unknown_item"),
        (4, "invalid_row"),
        (5, "invalid_row"),
        (6, "invalid_row"),
    ]
    assert "label" in read.bad[1].detail and read.bad[1].raw == "y,maybe,,"


def test_imported_jsonl_without_reviewer_needs_one(tmp_path: Path) -> None:
    path = tmp_path / "tool.jsonl"
    path.write_text('{"item": "x", "label": "A"}\n{oops\n{"item": "x", "label": "B", "extra": 1}\n')
    read = read_label_file(path, {"x"})
    assert [(b.line, b.reason) for b in read.bad] == [(1, "invalid_row"), (2, "invalid_json"), (3, "invalid_row")]
    assert "reviewer" in read.bad[0].detail
