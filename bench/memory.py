"""Peak RSS of `cai revise` under three heap-trimming policies, on a prefill-heavy workload.

    .venv/bin/python bench/memory.py                      # writes bench/results/memory.json (about 7 min)
    .venv/bin/python bench/memory.py --prompts 640 --only adaptive

Policies: `none` (glibc keeps freed holes), `every-step` (malloc_trim after each engine step) and
`adaptive` (cai's default: trim once RSS has grown 128 MiB past the last trim, see cai.engines.heap). Each
run is a process of its own with `--max-tokens 4`, where big prefill steps fragment the heap most.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))

POLICIES = {"none": 2**62, "every-step": 0, "adaptive": 128 * 2**20}  # HeapTrimmer slack in bytes


def run_policy(policy: str, prompts: int) -> dict[str, Any]:
    """In this process: set the trimming policy, run cai revise, report peak RSS and time."""
    from throughput import sample_prompts

    from cai import api

    os.environ["CAI_HEAP_TRIM_SLACK_BYTES"] = str(POLICIES[policy])  # read when the engine is built

    class Quiet:
        def note(self, message: str) -> None: ...

        def begin(self, totals: Any) -> None: ...

        def advance(self, event: Any) -> None: ...

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "prompts.jsonl"
        source.write_text("\n".join(sample_prompts(prompts)) + "\n")
        job = api.ReviseJob.of(prompts=str(source), output=str(Path(folder) / "out.jsonl"), max_tokens=4, rounds=1)
        started = time.perf_counter()
        summary = api.run_revise(job, Quiet())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "policy": policy,
        "prompts": prompts,
        "generate_seconds": round(summary.generate_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mib": usage.ru_maxrss // 1024,
        "system_cpu_seconds": round(usage.ru_stime, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=384)
    parser.add_argument("--only", nargs="*", choices=sorted(POLICIES), default=list(POLICIES))
    parser.add_argument("--policy", choices=sorted(POLICIES))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "memory.json"))
    args = parser.parse_args()
    if args.policy:
        print(json.dumps(run_policy(args.policy, args.prompts)))
        return
    results = []
    print(f"{'policy':<12} {'prompts':>7} {'peak RSS MiB':>13} {'generate s':>11} {'sys CPU s':>10}")
    for policy in args.only:
        command = [sys.executable, __file__, "--policy", policy, "--prompts", str(args.prompts)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{policy:<12} {result['prompts']:>7} {result['peak_rss_mib']:>13} "
            f"{result['generate_seconds']:>11} {result['system_cpu_seconds']:>10}",
            flush=True,
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
