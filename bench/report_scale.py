"""`cai report` at scale: synthetic judged revise rows and a plain TRL preference file, each timed as a real
process, with its peak RSS.

    .venv/bin/python bench/report_scale.py                 # writes bench/results/report-scale.json
    .venv/bin/python bench/report_scale.py --rows 20000 --plain-rows 100000 --out /tmp/scale.json

Judged rows: the shape `cai revise --judge` writes (2 rounds, 2 comparison principles, texts of 100–900
characters, a few refusals and cuts at max_tokens), so every signal does its full work; 10k, then 100k.
Plain rows: TRL's `prompt`/`chosen`/`rejected` strings, no judge, no provenance (a public preference
dataset), chosen 100–900 characters and rejected 100–700, a third of the chosen sides in markdown, some
refusals and repeated pairs; 1M by default. Each file is written to a temporary folder first (not timed);
the report runs with the page, `--json` and `--flags-out`; peak RSS is the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = (
    "vaccines train the immune system to recognise a pathogen without causing the disease itself memory cells "
    "antibodies respond faster when the real infection arrives doctors recommend boosters because protection "
    "fades over time and new variants appear researchers measure efficacy in large randomised trials"
)
WORDS = SENTENCE.split(" ")
PRINCIPLES = ("harmful-content", "honesty", "illegal-activity", "privacy", "self-harm", "medical-advice")


def text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def row(rng: random.Random, line: int) -> dict[str, Any]:
    rejected, chosen = text(rng, rng.randint(100, 700)), text(rng, rng.randint(100, 900))
    if line % 23 == 0:
        chosen = "I'm sorry, but I can't help with that. " + chosen
    p_a = min(0.99, max(0.01, 0.5 + (len(chosen) - len(rejected)) / 2000 + rng.gauss(0, 0.2)))
    first = min(0.99, max(0.01, p_a + rng.gauss(0.05, 0.1)))
    second = min(0.99, max(0.01, 2 * p_a - first))
    picked = rng.sample(PRINCIPLES, 2)
    verdict = {
        "p_a": round(p_a, 6),
        "margin": round(2 * p_a - 1, 6),
        "preferred": "a" if p_a > 0.5 else "b" if p_a < 0.5 else "tie",
        "orders": {"a_first": round(first, 6), "a_second": round(second, 6)},
        "position_consistent": (first - 0.5) * (second - 0.5) > 0,
        "cot": False,
        "principles": [{"principle": p, "p_a": round(p_a, 6), "a_first": first, "a_second": second} for p in picked],
    }
    rounds = [
        {
            "principle": rng.choice(PRINCIPLES),
            "critique": text(rng, 200),
            "revision": chosen,
            "finish_reason": "length" if line % 17 == 0 else "stop",
            "critique_finish_reason": "stop",
        }
        for _ in range(2)
    ]
    return {
        "prompt": [{"role": "user", "content": "Explain how vaccines train the immune system, briefly."}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "cai": {
            "key": f"{line:024x}",
            "id": str(line),
            "line": line,
            "constitution": {"name": "harmless", "sha256": "0" * 64},
            "model": "SmolLM2-135M-Instruct@b179c9523d0e",
            "mode": "critique",
            "initial": {"source": "generated", "finish_reason": "stop"},
            "rounds": rounds,
            "judge": verdict,
            "seed": 0,
        },
    }


def plain_row(rng: random.Random, line: int) -> dict[str, Any]:
    """A plain TRL preference pair, drawn from its own seed; every 97th repeats the pair before it (a duplicate)."""
    line = line - 1 if line % 97 == 0 else line
    rng = random.Random(line)
    chosen, rejected = text(rng, rng.randint(100, 900)), text(rng, rng.randint(100, 700))
    if line % 3 == 0:
        chosen = "## Answer\n- **" + chosen[:60] + "**\n- " + chosen[60:]
    if line % 29 == 0:
        chosen = "I'm sorry, but I can't help with that. " + chosen
    return {
        "prompt": f"Question {line}: how do vaccines train the immune system?",
        "chosen": chosen,
        "rejected": rejected,
    }


def cpu() -> dict[str, Any]:
    """lscpu's model name and the wide-vector flags that matter for numpy on this machine."""
    shown = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in shown.splitlines() if line.startswith("Model name")), "")
    flags: set[str] = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    wide = sorted(f for f in flags if f.startswith(("avx512", "amx")))
    return {"model_name": model, "cores": os.cpu_count(), "avx512_amx_flags": wide, "machine": platform.machine()}


def timed(command: list[str], stderr: Path) -> tuple[float, float, int]:
    """Run `command`; its wall time, its CPU time (user + system: what the load of a shared machine does not
    inflate) and its own peak RSS in KiB, from wait4's rusage of that one child."""
    with stderr.open("w") as errors:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"cai report failed ({process.returncode}):\n{stderr.read_text()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def run(rows: int, folder: Path, plain: bool = False) -> dict[str, Any]:
    """Generate `rows` rows, run `cai report` on them as a process; time, peak RSS and the figures."""
    rng = random.Random(0)
    data = folder / f"{'plain' if plain else 'pairs'}-{rows}.jsonl"
    make = plain_row if plain else row
    with data.open("w", encoding="utf-8") as handle:
        for line in range(1, rows + 1):
            handle.write(json.dumps(make(rng, line)) + "\n")
    load_before = os.getloadavg()[0]
    page, export = folder / "report.html", folder / "figures.json"
    command = [sys.executable, "-m", "cai", "report", str(data), "-o", str(page), "--json", str(export)]
    command += ["--flags-out", str(folder / "flags.jsonl")]
    seconds, cpu_seconds, peak_kib = timed(command, folder / "stderr.txt")
    result = {
        "kind": "plain TRL pairs" if plain else "cai revise --judge rows",
        "rows": rows,
        "input_mib": round(data.stat().st_size / 2**20, 1),
        "wall_seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "page_kib": round(page.stat().st_size / 1024, 1),
        "load_average_1min_before": round(load_before, 2),  # the machine is shared: other jobs slow it
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "figures": json.loads(export.read_text())["figures"],
    }
    data.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="the large run; a run of a tenth goes first")
    parser.add_argument("--plain-rows", type=int, default=1_000_000, help="the plain TRL run (0: none)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "report-scale.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        runs = [run(rows, Path(folder)) for rows in (args.rows // 10, args.rows) if rows]
        if args.plain_rows:
            runs.append(run(args.plain_rows, Path(folder), plain=True))
    result = {
        "command": "cai report DATA -o report.html --json figures.json --flags-out flags.jsonl",
        "cpu": cpu(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for item in runs:
        print({k: v for k, v in item.items() if k != "figures"})
    print(result["cpu"])


if __name__ == "__main__":
    main()
