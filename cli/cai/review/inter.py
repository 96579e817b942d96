"""Agreement between reviewers of the same review file: Cohen's κ for each pair, Krippendorff's α for all.

Labels are compared as source sides (a, b, tie); `skip` is "not labelled". κ needs two reviewers on
the same items; α takes any number and tolerates missing labels, so it is the headline for three or more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from cai.review import stats
from cai.review.items import ReviewItem

CODES = {"a": 0.0, "b": 1.0, "tie": 2.0}


def inter_reviewer(items: Sequence[ReviewItem], by_reviewer: dict[str, dict[str, str]]) -> dict[str, Any]:
    names = sorted(name for name, labels in by_reviewer.items() if any(v != "skip" for v in labels.values()))
    pairs = [_pair(x, y, by_reviewer[x], by_reviewer[y]) for x, y in combinations(names, 2)]
    matrix = [[CODES.get(by_reviewer[name].get(item.item, "skip"), math.nan) for item in items] for name in names]
    shared = sum(1 for column in zip(*matrix, strict=True) if sum(not math.isnan(v) for v in column) >= 2)
    return {
        "reviewers": len(names),
        "items_shared": shared if len(names) >= 2 else 0,
        "method": None if len(names) < 2 else "cohen_kappa" if len(names) == 2 else "krippendorff_alpha",
        "kappa": pairs[0]["kappa"] if len(pairs) == 1 else None,
        "agreement": pairs[0]["agreement"] if len(pairs) == 1 else None,
        "alpha": stats.krippendorff_alpha(matrix) if len(names) >= 2 else None,
        "pairs": pairs,
    }


def _pair(x: str, y: str, left: dict[str, str], right: dict[str, str]) -> dict[str, Any]:
    shared = [key for key in left if left[key] != "skip" and right.get(key, "skip") != "skip"]
    first, second = [left[key] for key in shared], [right[key] for key in shared]
    same = sum(1 for a, b in zip(first, second, strict=True) if a == b)
    return {
        "reviewers": [x, y],
        "items": len(shared),
        "agreement": same / len(shared) if shared else None,
        "kappa": stats.kappa(first, second),
    }
