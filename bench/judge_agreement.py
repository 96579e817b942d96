"""How often does the judge agree with known preference labels? Rerunnable, for any model.

Runs the real `cai score` (one process per setting) on a preference file whose `chosen` side is
known to be better, and reports agreement with the labels, position consistency, mean |margin| and
parse failures, overall and per `category` when rows carry one. Results are printed as a table and
written to bench/results/judge-agreement-<model>.json.

    .venv/bin/python bench/judge_agreement.py                      # embedded model, default settings
    .venv/bin/python bench/judge_agreement.py --model /models/X --settings "k=4" "k=4,cot"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CAI = str(Path(sys.executable).parent / "cai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "bench" / "data" / "harmless-pairs.jsonl"))
    parser.add_argument("--model", default=None, help="model folder or name (default: the embedded model)")
    parser.add_argument("--constitution", default="harmless")
    parser.add_argument("--settings", nargs="+", default=["k=1", "k=4", "k=4,cot"], help='e.g. "k=4,cot"')
    parser.add_argument("--engine-arg", "-E", action="append", default=[])
    args = parser.parse_args()
    results = [run(args, setting) for setting in args.settings]
    print_table(results)
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.model or "embedded-smollm2-135m").strip("-")
    path = ROOT / "bench" / "results" / f"judge-agreement-{label}.json"
    path.write_text(json.dumps({"machine": machine(), "data": args.data, "results": results}, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(ROOT)}")


def run(args: argparse.Namespace, setting: str) -> dict[str, Any]:
    options = {key: value or "true" for key, _, value in (part.partition("=") for part in setting.split(","))}
    with tempfile.TemporaryDirectory() as folder:
        out, stats = Path(folder) / "scored.jsonl", Path(folder) / "stats.json"
        command = [CAI, "score", args.data, "-o", str(out), "--stats-json", str(stats), "-q"]
        command += ["--constitution", args.constitution, "--principles", options.get("k", "4")]
        command += ["--cot"] if options.get("cot") == "true" else []
        command += ["--model", args.model] if args.model else []
        for engine_arg in args.engine_arg:
            command += ["-E", engine_arg]
        started = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        seconds = time.perf_counter() - started
        figures = json.loads(stats.read_text())["reliability"]
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    return {"setting": setting, "seconds": round(seconds, 1), **figures, "by_category": by_category(rows)}


def by_category(rows: list[dict[str, Any]]) -> dict[str, float]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        if "agrees_with_label" in row["scores"]:
            groups[row.get("category", "all")].append(row["scores"]["agrees_with_label"])
    return {name: round(sum(values) / len(values), 3) for name, values in sorted(groups.items())}


def print_table(results: list[dict[str, Any]]) -> None:
    header = f"{'setting':<10} {'rows':>5} {'agree':>6} {'consistent':>10} {'|margin|':>8} {'fails':>5} {'time':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['setting']:<10} {r['labelled_rows']:>5} {r['agreement_with_labels']:>6.1%} "
            f"{r['position_consistency_rate']:>10.1%} {r['mean_abs_margin']:>8.3f} {r['parse_failures']:>5} "
            f"{r['seconds']:>6.0f}s"
        )
    for r in results:
        print(f"{r['setting']}: by category " + ", ".join(f"{k} {v:.0%}" for k, v in r["by_category"].items()))


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


if __name__ == "__main__":
    main()
