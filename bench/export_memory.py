"""Peak memory and time of `cai export` on big files: 10k, 100k and 1M trl rows, to Parquet and to a datasets folder.

    .venv/bin/python bench/export_memory.py                        # writes bench/results/export-memory.json
    .venv/bin/python bench/export_memory.py --rows 10000 100000 --baseline 50b1b71   # and an earlier cai

The rows have the shape `cai revise --judge` writes (trl, a `cai` object with one round), built
from the 48 real rows of bench/data/revised-48.jsonl: the same prompts, numbered so that a prompt is
asked about twice on average (ids differ), answer and critique texts of the real rows' lengths cut
from random words, and a `judge` verdict in half of the rows only (the optional fields the schema
has to unify). Each export is a process of its own, `cai export FILE DIR --to T --test-size 0.1 -q`
for T parquet and hf-dataset, and once to parquet without --test-size (no per-row state at all);
its peak RSS is its own ru_maxrss (os.wait4); one export runs at a time. Files and outputs are made in a
temporary folder and removed. `--baseline REV` also runs the cai of commit REV (its cli/ from
`git archive`, first on PYTHONPATH) on the sizes in --baseline-rows: the version that held every row.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
TEMPLATES = [json.loads(line) for line in (ROOT / "bench" / "data" / "revised-48.jsonl").read_text().splitlines()]
PRINCIPLES = ("harmful-content", "honesty", "illegal-activity", "privacy", "self-harm", "medical-advice")


def words(rng: random.Random, size: int) -> str:
    """Random words from the real rows' texts: answers are cut from it, so no two are alike."""
    vocabulary = " ".join(row["chosen"][0]["content"] + " " + row["rejected"][0]["content"] for row in TEMPLATES)
    pool = vocabulary.split()
    return " ".join(rng.choice(pool) for _ in range(size // 5))


def cut(rng: random.Random, stream: str, like: str) -> str:
    start = rng.randrange(len(stream) - len(like) - 1)
    return stream[start : start + len(like)]


def verdict(rng: random.Random) -> dict[str, Any]:
    """The `judge` object cai.judge.PairVerdict.as_dict writes, two principles."""
    p_a = round(rng.random(), 6)
    first, second = round(min(1.0, p_a + rng.random() / 10), 6), round(max(0.0, p_a - rng.random() / 10), 6)
    principles = [
        {
            "principle": name,
            "p_a": p_a,
            "a_first": first,
            "a_second": second,
            "method": {"a_first": "next_token", "a_second": "next_token"},
        }
        for name in rng.sample(PRINCIPLES, 2)
    ]
    return {
        "p_a": p_a,
        "margin": round(2 * p_a - 1, 6),
        "preferred": "a" if p_a > 0.5 else "b" if p_a < 0.5 else "tie",
        "orders": {"a_first": first, "a_second": second},
        "position_consistent": (first - 0.5) * (second - 0.5) > 0,
        "cot": False,
        "principles": principles,
    }


def row(rng: random.Random, stream: str, line: int, prompts: int) -> dict[str, Any]:
    asked = rng.randrange(prompts)
    template = TEMPLATES[asked % len(TEMPLATES)]
    cai = json.loads(json.dumps(template["cai"]))
    chosen = cut(rng, stream, template["chosen"][0]["content"])
    cai.update(key=f"{line:024x}", id=f"{template['cai']['id']}-{line}", line=line)
    cai["rounds"][0].update(critique=cut(rng, stream, cai["rounds"][0]["critique"]), revision=chosen)
    if line % 2 == 0:
        cai["judge"] = verdict(rng)
        cai["seed"] = cai.pop("seed")  # cai writes `judge` before `seed`
    return {
        "prompt": [{"role": "user", "content": f"{template['prompt'][0]['content']} (case {asked})"}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": cut(rng, stream, template["rejected"][0]["content"])}],
        "cai": cai,
    }


def make_file(rows: int, path: Path) -> None:
    rng = random.Random(0)
    stream = words(rng, 4 << 20)
    with path.open("w", encoding="utf-8") as handle:
        for line in range(1, rows + 1):
            handle.write(json.dumps(row(rng, stream, line, max(2, rows // 2)), ensure_ascii=False) + "\n")


def export(source: Path, target: Path, to: str, split: bool, cli: Path | None) -> dict[str, Any]:
    """One `cai export` as a child process: wall time, its own peak RSS, and what it wrote."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if cli is not None:
        env["PYTHONPATH"] = str(cli)
    command = [sys.executable, "-m", "cai", "export", str(source), str(target), "--to", to, "-q"]
    command += ["--test-size", "0.1"] if split else []
    errors = target.parent / "stderr.txt"
    began = time.perf_counter()
    with errors.open("w") as stderr:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        status, usage, peaks = watch(child.pid, began)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"cai export failed:\n{errors.read_text()}")
    record = json.loads((target / ".cai-export.json").read_text())
    return {
        "to": to,
        "test_size": 0.1 if split else None,
        "wall_seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        # the peak so far at a quarter, half and three quarters of the run: level if memory stops growing
        "peak_rss_mib_so_far": {f"{q:.0%}": high for q, high in quarters(peaks, seconds).items()},
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "splits": record["splits"],
        "output_mib": round(sum(path.stat().st_size for path in target.rglob("*") if path.is_file()) / 2**20, 1),
        "load_average_1min_after": round(os.getloadavg()[0], 2),  # the machine is shared: other jobs slow it
    }


def watch(pid: int, began: float) -> tuple[int, Any, list[tuple[float, int]]]:
    """Wait for the child, reading its peak RSS so far (VmHWM) twice a second."""
    peaks: list[tuple[float, int]] = []
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, peaks
        with open(f"/proc/{pid}/status") as handle:
            high = next((line.split()[1] for line in handle if line.startswith("VmHWM")), "0")
        peaks.append((time.perf_counter() - began, int(high)))
        time.sleep(0.5)


def quarters(peaks: list[tuple[float, int]], seconds: float) -> dict[float, int]:
    highest = {q: max((high for at, high in peaks if at <= q * seconds), default=0) for q in (0.25, 0.5, 0.75)}
    return {q: round(high / 1024) for q, high in highest.items()}


def baseline_cli(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "cli"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "cli"


def measure(rows: int, folder: Path, versions: dict[str, Path | None]) -> list[dict[str, Any]]:
    source = folder / f"pairs-{rows}.jsonl"
    began = time.perf_counter()
    make_file(rows, source)
    print(f"{rows} rows: {source.stat().st_size / 2**20:.0f} MiB made in {time.perf_counter() - began:.0f} s")
    results = []
    for version, cli in versions.items():
        for to, split in (("parquet", True), ("hf-dataset", True), ("parquet", False)):
            target = folder / "out"
            result = {"rows": rows, "input_mib": round(source.stat().st_size / 2**20, 1), "cai": version}
            result |= export(source, target, to, split, cli)
            subprocess.run(["rm", "-rf", str(target)], check=True)
            print(json.dumps(result))
            results.append(result)
    source.unlink()
    return results


def main() -> None:
    from report_scale import cpu

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--baseline", help="also run the cai of this commit (it holds every row: keep the files small)")
    parser.add_argument("--baseline-rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "export-memory.json")
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        old = None if args.baseline is None else baseline_cli(args.baseline, folder)
        for rows in sorted(set(args.rows) | (set(args.baseline_rows) if old else set())):
            versions: dict[str, Path | None] = {f"streaming ({head.stdout.strip()})": None} if rows in args.rows else {}
            if old is not None and rows in args.baseline_rows:
                versions[f"one table ({args.baseline})"] = old
            runs += measure(rows, folder, versions)
    result = {
        "command": "cai export PAIRS DIR --to parquet|hf-dataset [--test-size 0.1] -q",
        "date": datetime.date.today().isoformat(),
        "cpu": cpu(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["cpu"])


if __name__ == "__main__":
    main()
