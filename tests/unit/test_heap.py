"""Heap trimming runs only once RSS has grown past the slack, and gives memory back when it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cai.engines.heap import HeapTrimmer, resident_bytes

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc")


@linux_only
def test_no_trim_while_rss_stays_within_the_slack() -> None:
    trimmer = HeapTrimmer(slack=2**40)
    trimmer.check()
    assert trimmer.trims == 0


def grow_free_and_trim() -> dict[str, int | None]:
    """RSS before, after growing the heap and freeing most of it, and after one check; run in a fresh process."""
    trimmer = HeapTrimmer(slack=64 * 2**20)
    before = resident_bytes()
    # many mid-sized blocks (below the mmap threshold, so they live on the heap), then free most
    blocks = [bytearray(64 * 1024) for _ in range(4096)]  # 256 MiB, touched
    keep = blocks[::64]
    del blocks
    grown = resident_bytes()
    trimmer.check()
    return {"before": before, "grown": grown, "after": resident_bytes(), "trims": trimmer.trims, "kept": len(keep)}


@linux_only
def test_freed_heap_memory_is_returned_once_past_the_slack() -> None:
    # In a fresh process: in pytest's own, after other tests (a loaded engine), glibc may serve the blocks from
    # holes it already holds, so RSS would not grow and there would be nothing to give back.
    root = Path(__file__).resolve().parents[2]
    code = "import json; from tests.unit.test_heap import grow_free_and_trim; print(json.dumps(grow_free_and_trim()))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "cli"), str(root)])}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, timeout=120)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    before, grown, after = seen["before"], seen["grown"], seen["after"]
    assert before is not None and grown is not None and after is not None
    assert grown > before + 64 * 2**20  # glibc kept the freed holes
    assert seen["trims"] == 1
    assert after < grown - 128 * 2**20
    assert seen["kept"] == 64
