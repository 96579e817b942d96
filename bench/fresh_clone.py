"""The README's setup and test timings: `make setup`, `make lint` and `make test` in a fresh clone.

    .venv/bin/python bench/fresh_clone.py                  # bench/results/fresh-clone.json (~9 min here)
    .venv/bin/python bench/fresh_clone.py --emulate-avx2   # bench/results/fresh-clone-avx2.json

The clone is of this checkout's HEAD (committed work only), in a temporary folder, with an empty pip
cache and an empty XDG cache, so `cai model prepare` converts the embedded model again, as on a new
machine. Chromium and tmux are taken as installed: `make system` only checks for them (their apt
download depends on the mirror). Lint runs once cold on its own; `make test` then runs the warm lint
again and pytest, whose own time is read from its summary line. Run it on a quiet machine: the figures
are wall-clock times of work that uses both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))

from cpu_emulation import environment  # noqa: E402
from throughput import machine  # noqa: E402

SUMMARY = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def timed_make(target: str, clone: Path, env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("w") as sink:
        result = subprocess.run(["make", target], cwd=clone, env=env, stdout=sink, stderr=subprocess.STDOUT)
    seconds = round(time.monotonic() - started, 1)
    if result.returncode != 0:
        raise SystemExit(f"make {target} failed (exit {result.returncode}) after {seconds} s; see {log}")
    print(f"make {target}: {seconds} s", file=sys.stderr)
    return seconds


def run(emulate_avx2: bool, keep: Path | None) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="cai-fresh-") as scratch:
        work = Path(scratch)
        clone = work / "cai"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {
            **os.environ,
            **environment(emulate_avx2),
            "XDG_CACHE_HOME": str(work / "cache"),
            "PIP_CACHE_DIR": str(work / "pip-cache"),
        }
        logs = keep or work
        logs.mkdir(parents=True, exist_ok=True)
        setup = timed_make("setup", clone, env, logs / "setup.log")
        lint = timed_make("lint", clone, env, logs / "lint.log")
        test = timed_make("test", clone, env, logs / "test.log")
        found = SUMMARY.findall((logs / "test.log").read_text())
    passed, pytest_seconds = (int(found[-1][0]), float(found[-1][1])) if found else (0, 0.0)
    return {
        "machine": machine(emulate_avx2),
        "commit": commit,
        "seconds": {
            "make_setup": setup,
            "make_lint_cold": lint,
            "make_test_after_lint": test,
            "pytest": pytest_seconds,
            "total_setup_lint_test": round(setup + lint + test, 1),
        },
        "tests_passed": passed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulate-avx2", action="store_true", help="run every phase as on an AVX2-only CPU")
    parser.add_argument("--logs", type=Path, help="keep the make logs in this folder")
    parser.add_argument("--out", type=Path, help="results file (default: bench/results/fresh-clone[-avx2].json)")
    args = parser.parse_args()
    report = run(args.emulate_avx2, args.logs)
    out = args.out or ROOT / "bench" / "results" / f"fresh-clone{'-avx2' if args.emulate_avx2 else ''}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["seconds"]), file=sys.stderr)


if __name__ == "__main__":
    main()
