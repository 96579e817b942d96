"""Heap trimming runs only once RSS has grown past the slack, and gives memory back when it does."""

from __future__ import annotations

import sys

import pytest

from cai.engines.heap import HeapTrimmer, resident_bytes

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc")


@linux_only
def test_no_trim_while_rss_stays_within_the_slack() -> None:
    trimmer = HeapTrimmer(slack=2**40)
    trimmer.check()
    assert trimmer.trims == 0


@linux_only
def test_freed_heap_memory_is_returned_once_past_the_slack() -> None:
    trimmer = HeapTrimmer(slack=64 * 2**20)
    before = resident_bytes()
    assert before is not None
    # many mid-sized blocks (below the mmap threshold, so they live on the heap), then free most
    blocks = [bytearray(64 * 1024) for _ in range(4096)]  # 256 MiB, touched
    keep = blocks[::64]
    del blocks
    grown = resident_bytes()
    assert grown is not None and grown > before + 64 * 2**20  # glibc kept the freed holes
    trimmer.check()
    after = resident_bytes()
    assert trimmer.trims == 1
    assert after is not None and after < grown - 128 * 2**20
    assert len(keep) == 64
