"""Same command, same input, same rows: the current code against an earlier commit, on the real engine.

Checks that a change meant to keep behaviour (a refactor) writes byte-identical rows and keys. It makes a
git worktree of BASE, then runs `cai revise` on prompts/sample.jsonl and `cai score` on
prompts/sample-score.jsonl with both versions (the same .venv, each version's own code on PYTHONPATH,
each in a fresh process so batches are formed alike), and compares the outputs byte for byte and key by
key. Then it resumes the current code on the base's finished output (a resume across the change must
write nothing). Results: bench/results/same-rows.json.

    .venv/bin/python bench/same_rows.py 50b1b71
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "revise": ["revise", str(ROOT / "prompts" / "sample.jsonl"), "--max-tokens", "48"],
    "score": ["score", str(ROOT / "prompts" / "sample-score.jsonl"), "--principles", "2"],
}


def run(code: Path, args: list[str], out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code / "cli"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cai", *args, "-o", str(out), "-q"], env=env, capture_output=True, text=True
    )
    return {"exit": done.returncode, "stderr": done.stderr[-2000:]}


def keys(path: Path, command: str) -> list[str]:
    field = "cai" if command == "revise" else "scores"
    return [json.loads(line)[field]["key"] for line in path.read_text().splitlines()] if path.exists() else []


def compare(base: Path, command: str, folder: Path) -> dict[str, Any]:
    outs = {name: folder / f"{command}-{name}.jsonl" for name in ("base", "now")}
    runs = {"base": run(base, RUNS[command], outs["base"]), "now": run(ROOT, RUNS[command], outs["now"])}
    base_bytes, now_bytes = (outs[name].read_bytes() if outs[name].exists() else b"" for name in ("base", "now"))
    resumed = run(ROOT, RUNS[command], outs["base"])  # the current code resumes the base's finished output
    return {
        "runs": {name: result["exit"] for name, result in runs.items()},
        "rows": len(keys(outs["now"], command)),
        "same_bytes": base_bytes == now_bytes and bool(now_bytes),
        "same_keys": keys(outs["base"], command) == keys(outs["now"], command),
        "resume_of_base_exit": resumed["exit"],
        "resume_of_base_wrote_nothing": outs["base"].read_bytes() == base_bytes,
        "errors": {name: result["stderr"] for name, result in {**runs, "resume": resumed}.items() if result["exit"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit to compare with (e.g. the one before a refactor)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "cli"))
    from cai import api

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            report = {
                "base": args.base,
                "now": subprocess.check_output(
                    ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True
                ).strip(),
                "cpu": api.cpu(),
                **{command: compare(base, command, Path(scratch)) for command in RUNS},
            }
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    out = ROOT / "bench" / "results" / "same-rows.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
