"""The run harness: rows in input order as they finish, and nothing finished lost when a run fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cai.runs.harness import Sink, commit_in_order
from cai.runs.ledger import OutputPaths
from cai.runs.tally import Tally


class Count(Tally):
    @property
    def rows_out(self) -> int:
        return 0


def finished(order: list[int], fail_after: int | None = None) -> Iterator[tuple[int, dict[str, int]]]:
    for step, number in enumerate(order):
        if step == fail_after:
            raise RuntimeError("the engine went away")
        yield number, {"n": number}


def written(path: Path) -> list[int]:
    return [json.loads(line)["n"] for line in path.read_text().splitlines()]


def test_rows_are_written_in_input_order_whatever_order_they_finish(tmp_path: Path) -> None:
    paths = OutputPaths.for_output(str(tmp_path / "out.jsonl"))
    sink = Sink(paths, Count())
    commit_in_order(finished([2, 0, 3, 1, 4]), sink.row, sink, every=2)
    sink.rows.close()
    assert written(tmp_path / "out.jsonl") == [0, 1, 2, 3, 4]


def test_a_failing_run_keeps_every_row_that_finished(tmp_path: Path) -> None:
    """Rows 2 and 3 finished while row 1 was still generating: the failure must not cost them."""
    paths = OutputPaths.for_output(str(tmp_path / "out.jsonl"))
    sink = Sink(paths, Count())
    with pytest.raises(RuntimeError):
        commit_in_order(finished([0, 2, 3, 1], fail_after=3), sink.row, sink, every=10)
    sink.rows.close()
    assert written(tmp_path / "out.jsonl") == [0, 2, 3]
