"""Fixtures for review tests: a small review file drawn from judged rows, in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cai.review.items import ReviewItem, read_review, write_review
from cai.review.rows import read_judged
from cai.review.sampling import draw
from tests.review.helpers import revise_row, write_jsonl


def make_review(folder: Path, count: int = 5, n: int = 5) -> tuple[Path, list[ReviewItem]]:
    source = write_jsonl(folder / "pairs.jsonl", [revise_row(i, p_a=0.2 + 0.1 * i) for i in range(count)])
    review = folder / "review.jsonl"
    write_review(review, draw(read_judged(source).pairs, n, seed=3, source=str(source)))
    return review, read_review(review)


@pytest.fixture
def review(tmp_path: Path) -> tuple[Path, list[ReviewItem]]:
    return make_review(tmp_path)
