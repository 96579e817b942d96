"""Each throughput lever on its own: `cai revise` on one workload, one setting changed per run.

    .venv/bin/python bench/levers.py                      # writes bench/results/levers.json
    .venv/bin/python bench/levers.py --only baseline kv-1g   # reruns these, keeps the others

Every run is bench/throughput.py's cai phase (a process of its own, the model loaded afresh), so
the numbers compare with that script's. Runs accumulate per lever in the results file: rerunning a
lever shows the run-to-run spread, which decides whether a difference is real. BENCHMARKS.md records
which levers were kept and why.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from throughput import machine, run_phase  # noqa: E402

GiB = 2**30
LEVERS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "window-32": {"chunk_size": 32},
    "window-128": {"chunk_size": 128},
    "window-128-kv-2g": {"chunk_size": 128, "engine_arg": [f"kv_cache_memory_bytes={2 * GiB}"]},
    "kv-1g": {"engine_arg": [f"kv_cache_memory_bytes={GiB}"]},
    "kv-2g": {"engine_arg": [f"kv_cache_memory_bytes={2 * GiB}"]},
    "max-num-seqs-32": {"engine_arg": ["max_num_seqs=32"]},
    "bf16": {"engine_arg": ["dtype=bfloat16"]},
    "fp32": {"engine_arg": ["dtype=float32"]},
    "block-32": {"engine_arg": ["block_size=32"]},
    "block-64": {"engine_arg": ["block_size=64"]},
    "kv-256m": {"engine_arg": [f"kv_cache_memory_bytes={GiB // 4}"]},
    "threads-1": {"env": {"OMP_NUM_THREADS": "1"}},
    "fcfs": {"engine_arg": ["scheduling_policy=fcfs"]},  # the default before records were scheduled by priority
    "omp-nobind": {"env": {"VLLM_CPU_OMP_THREADS_BIND": "nobind"}},
    "compiled": {"engine_arg": ["enforce_eager=false"]},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--constitution", default="harmless")
    parser.add_argument("--only", nargs="*", choices=sorted(LEVERS), default=list(LEVERS))
    parser.add_argument("--emulate-avx2", action="store_true", help="see bench/cpu_emulation.py")
    parser.add_argument("--out", default=None, help="default: bench/results/levers[-avx2].json")
    args = parser.parse_args()
    args.out = args.out or str(ROOT / "bench" / "results" / f"levers{'-avx2' if args.emulate_avx2 else ''}.json")
    args.engine_arg = []
    workload = {k: v for k, v in vars(args).items() if k not in ("only", "out", "emulate_avx2")}
    results: dict[str, Any] = {"workload": workload}
    if Path(args.out).exists():  # runs of other levers on the same workload are kept
        earlier = json.loads(Path(args.out).read_text())
        results = earlier if earlier.get("workload") == workload else results
    results["machine"] = machine(args.emulate_avx2)
    print(f"{'lever':<20} {'tok/s':>7} {'gen s':>7} {'wall s':>7} {'cache':>6} {'RSS MiB':>8}")
    for name in args.only:
        with tempfile.TemporaryDirectory() as folder:
            args.workdir = folder
            result = run_phase("cai", args, **dict(LEVERS[name]))  # a copy: run_phase pops "env"
        entry = results.setdefault(name, {"settings": LEVERS[name], "runs": []})
        entry["runs"].append(result)  # reruns add up: their spread is the measurement noise
        rates = [run["tokens_per_second"] for run in entry["runs"]]
        entry["mean_tokens_per_second"] = round(sum(rates) / len(rates), 1)
        print(
            f"{name:<20} {result['tokens_per_second']:>7} {result['generate_seconds']:>7} "
            f"{result['wall_seconds']:>7} {result['prefix_cache_rate']:>6.1%} {result['peak_rss_mib']:>8}"
            f"   (runs so far: {', '.join(map(str, rates))})",
            flush=True,
        )
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
