"""Deterministic train/test splits that never put one prompt on both sides.

Whole prompt groups go to test, in an order that depends only on the set of prompts and the seed
(not on the file's row order), so the same file and --seed give the same split, and a model is
never tested on a prompt it was trained on.

The groups arrive as 32-byte hashes, one per row (scan_source), and are sorted with numpy: a few
dozen bytes a row at the peak, instead of a Python string and set entry per prompt.
"""

from __future__ import annotations

import random
from array import array

from cai.errors import InputError

HASH_BYTES = 32


def in_test_split(groups: bytes | bytearray, test_size: float, seed: int) -> bytes:
    """A byte per row (file order): 1 if it goes to test. test_size < 1 is a fraction of rows, else a count."""
    import numpy as np

    hashes = np.frombuffer(groups, dtype=f"S{HASH_BYTES}")
    rows = len(hashes)
    # sorted like the hex strings they stand for (same length, same byte order)
    prompts, row_prompt, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    del hashes
    if len(prompts) < 2:
        raise InputError(f"--test-size needs at least 2 different prompts; the file has {len(prompts)}")
    wanted = max(1, round(test_size * rows if test_size < 1 else test_size))
    order = array("q", range(len(prompts)))
    random.Random(seed).shuffle(order)  # the permutation depends only on the length: the same as of the sorted hashes
    chosen = np.zeros(len(prompts), dtype=bool)
    taken = 0
    for prompt in order:
        if taken >= wanted:
            break
        chosen[prompt] = True
        taken += int(counts[prompt])
    if chosen.all():
        raise InputError(f"--test-size {test_size:g} leaves no rows to train on ({rows} rows in the file)")
    return chosen[row_prompt].tobytes()
