"""The desk under threads (one lock per labels file), others' files read but never cut, and the word diff."""

from __future__ import annotations

import threading
from pathlib import Path

from cai.review.labels import LabelStore, labels_path
from cai.review.web.desk import Desk
from cai.review.web.diff import changed_words, word_diff, words
from tests.review.helpers import read_jsonl
from tests.review.web_builders import write_items


def test_threads_labelling_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path, items = write_items(tmp_path, 120)
    desk = Desk(path, items)
    names = ["ana", "ana", "bo", "bo", "cy", "cy"]  # two tabs per reviewer: same file, same lock
    start = threading.Barrier(len(names))

    def tab(number: int, name: str) -> None:
        start.wait()
        for item in items[number::6]:
            desk.label(name, item.item, "A", None, 1.0)

    threads = [threading.Thread(target=tab, args=(number, name)) for number, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    desk.close()
    for number, name in enumerate(("ana", "bo", "cy")):
        rows = read_jsonl(labels_path(path, name))  # every line whole JSON
        expected = {item.item for item in items[2 * number :: 6]} | {item.item for item in items[2 * number + 1 :: 6]}
        assert sorted(row["item"] for row in rows) == sorted(expected)
        assert LabelStore(labels_path(path, name), name).current().keys() == expected


def test_another_reviewers_torn_line_is_read_around_never_cut(tmp_path: Path) -> None:
    path, items = write_items(tmp_path, 3)
    other = labels_path(path, "bo")
    whole = '{"item": "r0000", "label": "A", "reviewer": "bo"}\n'
    other.write_text(whole + '{"item": "r0001", "lab')  # bo's terminal UI is writing this line right now
    desk = Desk(path, items)
    screen = desk.screen("ana")
    assert screen.item is not None and screen.item.item == "r0001"  # r0000 is bo's, r0001 not yet
    assert other.read_text().endswith('"lab')
    other.write_text(whole + '{"item": "r0001", "label": "B", "reviewer": "bo"}\n')
    desk.label("ana", "r0001", "A", None, None)  # ana had it on screen: her label counts too
    assert desk.screen("ana").item is not None and desk.screen("ana").progress.labels == 3


def test_the_word_diff_keeps_each_side_and_marks_changed_words() -> None:
    a, b = "The cat sat\non the mat.", "The dog sat on  the mat. Then it left."
    segments = word_diff(a, b)
    assert "".join(text for kind, text in segments if kind != "ins").split() == a.split()
    assert "".join(text for kind, text in segments if kind != "del") == b
    assert ("del", "cat\n") not in segments and ("del", "cat ") in segments and ("ins", "dog ") in segments
    assert changed_words(segments) == {"del": 1, "ins": 4}
    assert "".join(words("  leading\tand trailing  ")) == "  leading\tand trailing  "
