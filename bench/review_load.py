"""`cai review serve` under load: N reviewers at once, each click timed until the next item is on screen.

    .venv/bin/python bench/review_load.py                  # writes bench/results/review-load.json (~1 min)
    .venv/bin/python bench/review_load.py --reviewers 16 --labels 2000 --out /tmp/load.json

The real server runs as its own process (`cai review serve` with a token file, as in the browser
tests). Each reviewer is an httpx client doing what the page does, with no pause between clicks:
sign in with the token URL, GET its page, then per click POST the form (item, label, csrf, shown)
and GET the page the 303 points to — the click is timed from the POST until that next page has
arrived, which the server only sends once the label is appended and fsynced. Labels are A, B, tie
and skip at random (seeded). Afterwards the labels files are read back: each must hold exactly the
clicks its reviewer made, in order (no label lost, none duplicated), and no item outside the
overlap may carry two decided labels. For scale, the same number of append+fsync calls is timed on
the same file system, without the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "cli"), str(ROOT)]

import httpx  # noqa: E402
from tests.review.web_served import Served  # noqa: E402  # the browser tests' server runner, not a copy

from cai.api import cpu  # noqa: E402
from cai.review.items import ReviewItem, write_review  # noqa: E402
from cai.review.labels import LabelStore, labels_path  # noqa: E402
from cai.review.web.state import overlap_items  # noqa: E402

SENTENCE = "the a model answer question because safety policy user asks explain step careful helpful harmful"
WORDS = SENTENCE.split(" ")
CHOICES = ("A", "B", "tie", "skip")


def review_file(folder: Path, count: int, rng: random.Random) -> Path:
    """`count` items with responses of 300–1,500 characters, the size of real `cai revise` output."""

    def text(chars: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(chars // 6))[:chars]

    items = [
        ReviewItem.model_validate(
            {
                "item": f"load{index:05d}",
                "source": {"path": "pairs.jsonl", "line": index + 1},
                "conversation": [{"role": "user", "content": text(rng.randint(40, 300))}],
                "response_A": text(rng.randint(300, 1500)),
                "response_B": text(rng.randint(300, 1500)),
                "shown_A": rng.choice("ab"),
                "judge": {"p_a": round(rng.random(), 3), "position_consistent": rng.random() < 0.7},
                "principle": "honesty",
                "stratum": {"id": "all", "size": count, "sampled": count},
                "inclusion_probability": 1.0,
                "weight": 1.0,
                "population": count,
            }
        )
        for index in range(count)
    ]
    path = folder / "review.jsonl"
    write_review(path, items)
    return path


def screen(page: str) -> dict[str, str] | None:
    """The item, CSRF token and first-shown time of a labelling page (None: nothing left for this reviewer)."""
    found = {key: re.search(pattern, page) for key, pattern in PATTERNS.items()}
    if found["item"] is None:
        return None
    return {key: match.group(1) for key, match in found.items() if match is not None}


PATTERNS = {
    "item": r'data-item="([^"]*)"',
    "csrf": r'name="csrf" value="([^"]*)"',
    "shown": r'name="shown" value="([^"]*)"',
}


async def reviewer(served: Served, name: str, clicks: int, rng: random.Random) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=served.base, follow_redirects=False, timeout=60) as client:
        assert (await client.get(f"/?token={served.token}")).status_code == 303
        page = (await client.get(f"/label/{name}")).text
        done: list[tuple[str, str]] = []
        times: list[float] = []
        for _ in range(clicks):
            shown = screen(page)
            if shown is None:
                break
            choice = rng.choice(CHOICES)
            began = time.perf_counter()
            answer = await client.post(f"/label/{name}", data={**shown, "label": choice})
            assert answer.status_code == 303 and answer.headers["location"] == f"/label/{name}", answer.text
            following = await client.get(answer.headers["location"])
            times.append(time.perf_counter() - began)
            assert following.status_code == 200
            page = following.text
            done.append((shown["item"], choice))
        return {"name": name, "clicks": done, "seconds": times}


def fsync_baseline(folder: Path, count: int) -> list[float]:
    """append+fsync through LabelStore alone, on the same file system: the floor under a click."""
    store = LabelStore(folder / "baseline.labels.jsonl", "baseline")
    times = []
    for index in range(count):
        began = time.perf_counter()
        store.add(f"x{index}", "A")
        times.append(time.perf_counter() - began)
    store.close()
    return times


def check(review: Path, runs: list[dict[str, Any]], shared: list[bool]) -> dict[str, Any]:
    """Files against clicks: each file exactly its reviewer's clicks in order; decided twice only if shared."""
    exact = {}
    decided: dict[str, int] = {}
    for run in runs:
        path = labels_path(review, run["name"])
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        exact[run["name"]] = [(row["item"], row["label"]) for row in rows] == run["clicks"]
        for item, label in run["clicks"]:
            decided[item] = decided.get(item, 0) + (label != "skip")
    position = {f"load{index:05d}": index for index in range(len(shared))}
    return {
        "files_equal_clicks": all(exact.values()),
        "labels_in_files": sum(len(run["clicks"]) for run in runs),
        "items_decided_twice_outside_overlap": sum(1 for k, n in decided.items() if n > 1 and not shared[position[k]]),
        "items_decided_more_than_twice": sum(1 for n in decided.values() if n > 2),
    }


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(1000 * value for value in seconds)
    cut = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "mean_ms": round(statistics.fmean(ms), 2),
        "p50_ms": round(cut[49], 2),
        "p95_ms": round(cut[94], 2),
        "p99_ms": round(cut[98], 2),
        "max_ms": round(ms[-1], 2),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(served: Served, reviewers: int, labels: int, seed: int) -> tuple[list[dict[str, Any]], float, float]:
    """Every reviewer's clicks, the wall time, and the server's CPU seconds over the run."""
    assert served.process is not None
    quota = [labels // reviewers + (index < labels % reviewers) for index in range(reviewers)]
    began, cpu = time.perf_counter(), cpu_seconds(served.process.pid)
    runs = await asyncio.gather(
        *(reviewer(served, f"r{index}", quota[index], random.Random(seed + index)) for index in range(reviewers))
    )
    return list(runs), time.perf_counter() - began, cpu_seconds(served.process.pid) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewers", type=int, default=8)
    parser.add_argument("--labels", type=int, default=1000, help="clicks in all, shared evenly")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--overlap", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "review-load.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("CAI_BENCH_DIR")) as folder:
        review = review_file(Path(folder), args.items, random.Random(args.seed))
        with Served(review, "--overlap", str(args.overlap)) as served:
            runs, wall, server_cpu = asyncio.run(load(served, args.reviewers, args.labels, args.seed))
        verified = check(review, runs, overlap_items(args.items, args.overlap))
        baseline = fsync_baseline(Path(folder), args.labels)
    clicks = [value for run in runs for value in run["seconds"]]
    result = {
        "what": "click → label appended and fsynced → next item's page received, N reviewers with no pause",
        "cpu": cpu(),
        "cpus": os.cpu_count(),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "reviewers": args.reviewers,
        "items": args.items,
        "overlap": args.overlap,
        "clicks": len(clicks),
        "wall_seconds": round(wall, 2),
        "labels_per_second": round(len(clicks) / wall, 1),
        "click_to_next_item": summary(clicks),
        # the server's own work per click (POST, append+fsync, redirect, next page): independent of the neighbours
        "server_cpu_ms_per_click": round(1000 * server_cpu / len(clicks), 2),
        "append_fsync_alone": summary(baseline),
        "verified": verified,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if not (verified["files_equal_clicks"] and verified["labels_in_files"] == args.labels):
        sys.exit("labels files do not match the clicks")


if __name__ == "__main__":
    main()
