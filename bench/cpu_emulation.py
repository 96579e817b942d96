"""--emulate-avx2 for the bench scripts: their phases run with bench/avx2 on PYTHONPATH.

bench/avx2/sitecustomize.py says what that changes and how far the emulation was checked.
"""

from __future__ import annotations

import os
from pathlib import Path

SITE = Path(__file__).resolve().parent / "avx2"


def environment(emulate_avx2: bool) -> dict[str, str]:
    """The environment for a phase's process."""
    if not emulate_avx2:
        return {}
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))}
