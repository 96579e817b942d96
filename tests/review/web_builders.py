"""Review files of any size and content for the browser app's tests, built straight from `ReviewItem`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cai.review.items import ReviewItem, write_review

XSS = (
    '<script>window.__xss = "script"</script>',
    "<img src=/xss-img onerror=\"window.__xss='img'\">",
    '"><svg onload="window.__xss=\'svg\'"></svg>',
    "</div></main><iframe src=/xss-frame></iframe>",
    "{{ 7*7 }} {% raw %}&amp; &lt;b&gt;",
    "javascript:window.__xss='href'",
)


def item(index: int, prompt: str | None = None, a: str | None = None, b: str | None = None) -> ReviewItem:
    return ReviewItem.model_validate(
        {
            "item": f"r{index:04d}",
            "source": {"path": "pairs.jsonl", "line": index + 1},
            "conversation": [
                {"role": "system", "content": "Be helpful."},
                {"role": "user", "content": prompt or f"Question {index}?"},
            ],
            "response_A": a or f"Answer A to question {index}.",
            "response_B": b or f"A longer answer B to question {index}, with more words.",
            "shown_A": "a" if index % 2 else "b",
            "judge": {"p_a": (index % 9 + 1) / 10, "position_consistent": index % 3 != 0},
            "principle": "honesty",
            "stratum": {"id": "all", "size": 1, "sampled": 1},
            "inclusion_probability": 1.0,
            "weight": 1.0,
            "population": 1,
        }
    )


def write_items(folder: Path, count: int, make: Callable[[int], ReviewItem] = item) -> tuple[Path, list[ReviewItem]]:
    items = [make(index) for index in range(count)]
    strata = {"id": "all", "size": count, "sampled": count}
    stratum = items[0].stratum.model_copy(update=strata)
    items = [one.model_copy(update={"stratum": stratum, "population": count}) for one in items]
    path = folder / "review.jsonl"
    write_review(path, items)
    return path, items


def hostile(index: int) -> ReviewItem:
    """Every text carries XSS payloads: the page must show them as text."""
    payload = " ".join(XSS)
    return item(index, prompt=f"{index} {payload}", a=f"A {payload}", b=f"B {payload} more")
