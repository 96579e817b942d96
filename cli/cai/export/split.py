"""Deterministic train/test splits that never put one prompt on both sides.

Whole prompt groups go to test, in an order that depends only on the set of prompts and the seed
(not on the file's row order), so the same file and --seed give the same split, and a model is
never tested on a prompt it was trained on.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from cai.errors import InputError


def split_indices(groups: Sequence[str], test_size: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, test) row indices, each in file order. test_size < 1 is a fraction of rows, else a count."""
    counts = Counter(groups)
    if len(counts) < 2:
        raise InputError(f"--test-size needs at least 2 different prompts; the file has {len(counts)}")
    wanted = max(1, round(test_size * len(groups) if test_size < 1 else test_size))
    order = sorted(counts)
    random.Random(seed).shuffle(order)
    test_groups: set[str] = set()
    taken = 0
    for group in order:
        if taken >= wanted:
            break
        test_groups.add(group)
        taken += counts[group]
    if len(test_groups) == len(counts):
        raise InputError(f"--test-size {test_size:g} leaves no rows to train on ({len(groups)} rows in the file)")
    train = [index for index, group in enumerate(groups) if group not in test_groups]
    test = [index for index, group in enumerate(groups) if group in test_groups]
    return train, test
