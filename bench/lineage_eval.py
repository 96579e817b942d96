"""What issue 22's parts cost: hashing a model for the manifest, the eval's bootstrap intervals, the reward.

    .venv/bin/python bench/lineage_eval.py                    # writes bench/results/lineage-eval.json
    .venv/bin/python bench/lineage_eval.py --skip reward      # without the engine (hashing and intervals only)

- **hashing**: a copy of the embedded model's folder (260 MB) hashed as a manifest hashes a model folder:
  the first time (every byte read; the copy is in the page cache, so this is sha256's speed, not the
  disk's), then again (every content hash from `cai-hashes.json`), then after one file changed;
- **intervals**: the eval's figures (raw, length- and style-controlled rates, 2,000 bootstrap resamples
  each) on synthetic judged rows, 8, 300 and 5,000 prompts;
- **reward**: `api.reward_function` on the embedded model in-process, 16 completions (8-token answers of a
  GRPO group) per call, pairwise with K = 1 and 2 principles and pointwise with K = 1: seconds per call
  and per completion, after one warm-up call.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def hashing() -> dict[str, Any]:
    from cai import api
    from cai.runs.digest import folder_digest

    folder, _ = api.embedded_model()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "model"
        shutil.copytree(folder, copy)
        started = time.perf_counter()
        first = folder_digest(copy)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        folder_digest(copy)
        cached = time.perf_counter() - started
        (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
        started = time.perf_counter()
        changed = folder_digest(copy)
        one_file = time.perf_counter() - started
    return {
        "bytes": first.bytes,
        "files": first.files,
        "first_seconds": round(cold, 3),
        "first_gb_per_second": round(first.bytes / cold / 1e9, 2),
        "cached_seconds": round(cached, 4),
        "one_small_file_changed_seconds": round(one_file, 4),
        "rehashed_bytes_after_change": changed.hashed_bytes,
    }


def judged_row(rng: random.Random) -> dict[str, Any]:
    chars_a, chars_b = rng.randint(50, 900), rng.randint(50, 900)
    bullets = "\n".join("- point" for _ in range(rng.randint(0, 4)))
    winner = rng.choices(["b", "a", "tie"], weights=[0.5 + (chars_b - chars_a) / 3000, 0.4, 0.1])[0]
    return {
        "response_a": "x" * chars_a,
        "response_b": bullets + "\n" + "y" * chars_b,
        "scores": {"position_consistent": rng.random() < 0.5, "principles": []},
        "eval": {"winner": winner, "p_b": 0.5, "a": {"chars": chars_a}, "b": {"chars": chars_b + len(bullets) + 1}},
    }


def intervals() -> list[dict[str, Any]]:
    from cai.evaluation.stats import figures, wilson

    wilson(1, 2)  # scipy's import, once, outside the timings
    figures([judged_row(random.Random(0)) for _ in range(8)])  # numpy's and the fit's first call
    results = []
    for prompts in (8, 300, 5000):
        rng = random.Random(prompts)
        rows = [judged_row(rng) for _ in range(prompts)]
        started = time.perf_counter()
        found = figures(rows)
        results.append(
            {
                "prompts": prompts,
                "seconds": round(time.perf_counter() - started, 3),
                "win_rate": found["win_rate"],
                "ci95": found["ci95"],
                "ci95_bootstrap": found["ci95_bootstrap"],
                "style_controlled_ci95": found["style_controlled_ci95"],
            }
        )
    return results


def reward() -> list[dict[str, Any]]:
    from cai import api

    engine = api.build_engine()
    prompts = [[{"role": "user", "content": text}] for text in ("How do I calm a barking dog?", "Why is the sky blue?")]
    completions = [[{"role": "assistant", "content": f"Answer number {i} is short."}] for i in range(16)]
    batch: dict[str, Any] = {"prompts": [prompts[i % 2] for i in range(16)], "completions": completions,
                             "reference": ["A calm, brief, correct answer."] * 16}  # fmt: skip
    results = []
    try:
        for mode, principles in (("pairwise", 1), ("pairwise", 2), ("pointwise", 1)):
            function = api.reward_function(engine, mode=mode, principles=principles)  # type: ignore[arg-type]
            function(**batch)  # warm-up: the prompts' prefixes enter the cache
            times = []
            for _ in range(3):
                started = time.perf_counter()
                rewards = function(**batch)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            results.append(
                {
                    "mode": mode,
                    "principles": principles,
                    "completions": 16,
                    "seconds_per_call": round(seconds, 3),
                    "ms_per_completion": round(1000 * seconds / 16, 1),
                    "unscored": sum(r is None for r in rewards),
                }
            )
    finally:
        engine.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip", action="append", default=[], choices=["hashing", "intervals", "reward"])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "lineage-eval.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "cli"))
    from cai import api

    result: dict[str, Any] = {"cpu": api.cpu(), "measured": time.strftime("%Y-%m-%d")}
    for name, part in (("hashing", hashing), ("intervals", intervals), ("reward", reward)):
        if name not in args.skip:
            result[name] = part()
            print(json.dumps({name: result[name]}), file=sys.stderr)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
