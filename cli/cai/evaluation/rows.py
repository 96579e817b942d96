"""One output row per prompt: both answers, the judge's verdict in `cai score`'s pairwise shape, provenance.

`response_a`/`response_b` and a `scores` object with `kind: "pairwise"` are what `cai score` writes
for an unlabelled pair, so `cai review sample` and `cai report` read eval rows as they are. What only
an eval knows (who wrote each side, with which settings, and the outcome) sits under `eval`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from cai.evaluation.answers import Answer, Sampling
from cai.evaluation.inputs import Item
from cai.framing import normalise
from cai.judge.pairwise import PairVerdict

Winner = Literal["a", "b", "tie"]


@dataclass(frozen=True)
class SideInfo:
    """Run-wide facts about one side, stamped on every row."""

    model: str
    sampling: Sampling | None  # None: answers read from a file

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, **(asdict(self.sampling) if self.sampling else {})}


def identical(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def winner(verdict: PairVerdict, a: str, b: str, tie_margin: float) -> Winner:
    """B wins when its margin (P(B better) − P(A better), both orders averaged) exceeds the tie margin.

    Identical answers are a tie whatever the judge says: no judge can prefer a text to itself.
    """
    if identical(a, b) or abs(verdict.margin) <= tie_margin:
        return "tie"
    return "a" if verdict.margin > 0 else "b"


def eval_row(
    item: Item,
    answers: tuple[Answer, Answer],
    sides: tuple[SideInfo, SideInfo],
    verdict: PairVerdict,
    stamp: dict[str, Any],
    tie_margin: float,
) -> dict[str, Any]:
    a, b = answers
    row: dict[str, Any] = {"id": item.row.ident}
    if item.row.category is not None:
        row["category"] = item.row.category
    scores = {"key": item.key, "kind": "pairwise", **stamp, **verdict.as_dict()}
    row.update(
        prompt=list(item.row.conversation()),
        response_a=a.text,
        response_b=b.text,
        scores=scores,
        eval={
            "line": item.line,
            "winner": winner(verdict, a.text, b.text, tie_margin),
            "p_b": round(1 - verdict.p_a, 6),
            "identical": identical(a.text, b.text),
            "a": {**sides[0].as_dict(), "source": a.source, "finish_reason": a.finish_reason, "chars": len(a.text)},
            "b": {**sides[1].as_dict(), "source": b.source, "finish_reason": b.finish_reason, "chars": len(b.text)},
        },
    )
    return row
