"""The pairs of every file a report reads (cai.io.pairs), one row at a time, with what a report requires.

Any preference data reads: cai's own outputs (`cai revise`, `cai score`, `cai eval`) and plain preference
datasets (TRL pairs, hh-rlhf transcripts; JSONL, CSV, Parquet, dataset folders). A row that is not a pair
stops the report with file:line and the reason (exit 2), because a figure computed over rows we do not
understand would be wrong without saying so; so do two kinds of data in one report. Nothing here keeps a
row: each is read, handed on and dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

from cai.errors import InputError
from cai.io.pairs import Pair, Pointwise, Round
from cai.io.records import Reject
from cai.io.sources import read_pairs

RawPair = Pair
__all__ = ["Pointwise", "RawPair", "Round", "read_files"]
KINDS = {"revise": "`cai revise`", "score": "`cai score`", "eval": "`cai score`", "pairs": "plain preference pair"}


def read_files(paths: list[str], split: str | None = None) -> Iterator[RawPair | Pointwise]:
    """Every row of every file, in order; one kind of data (revise, score, plain pairs) across all of them."""
    first: tuple[str, str] | None = None
    for path in paths:
        seen = 0
        for item in read_pairs(path, split):
            seen += 1
            if isinstance(item, Reject):
                raise InputError(f"{'<stdin>' if path == '-' else path}:{item.line}: {item.detail}")
            kind = KINDS[item.source] if isinstance(item, Pair) else KINDS["score"]
            if first is None:
                first = (kind, item.where)
            elif kind != first[0]:
                raise InputError(
                    f"{item.where}: a {kind} row, but {first[1]} is a {first[0]} row; "
                    "report one kind of data at a time (mixed files)"
                )
            if isinstance(item, Pair) and item.verdict is not None and "orders" not in item.verdict:
                raise InputError(f"{item.where}: the judge's verdict has no orders.a_first/a_second (both orders)")
            yield item
        if not seen:
            raise InputError(f"{path}: empty file: no rows to report on")
