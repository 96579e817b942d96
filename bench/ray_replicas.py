"""cai on Ray replicas: one real replica against in-process, and scaling over fake replicas of fixed latency.

1. real     — the same chat workload as bench/servers.py (N prompts, M new tokens, seeded, temperature 0.7)
              through the in-process VLLMEngine (in a child process without Ray, as `cai revise` runs
              it) and through one replica (a Ray actor on a local Ray instance, holding the same engine,
              `--replica-cpus` = every core). Both are loaded and timed in turns, `--repeat` pairs (A B,
              B A, ...), so drifting load from others on a shared machine falls on both; only the one
              being timed works. Generated tokens/s of each, the ratio per pair, the median and the
              ratio of totals (target >= 0.9).
2. scaling  — N replicas (real Ray actors: cai's ReplicaHost, each holding a fake engine that answers every
              request `--latency` seconds after it arrived, whatever else it holds), N = 1, 2, 4, 8, 16,
              each kept full (`--concurrency` requests in flight): cai's throughput over N against N times
              one replica's (target >= 0.9), and the driver's peak RSS.

Both parts start a local Ray instance on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0). Results go to
bench/results/ray-replicas.json; BENCHMARKS.md records them.

    .venv/bin/python bench/ray_replicas.py                  # both parts
    .venv/bin/python bench/ray_replicas.py --skip real      # scaling only (no vLLM)
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the local Ray instance stays on loopback

from servers import drain, rss_mb, timed, workload  # noqa: E402
from throughput import machine  # noqa: E402


class FixedLatencyEngine:
    """A fake engine for the scaling part: each request is answered `latency` s after it was submitted.

    Defined in this script, so Ray ships the class to the replicas by value (nothing to install there).
    """

    max_model_len = 4096
    dtype = "none"
    dtype_reason = "a fake engine of fixed latency"

    def __init__(self, latency: float, model_name: str) -> None:
        self.latency = latency
        self.model_name = model_name
        self._due: list[tuple[float, int, Any]] = []
        self._tickets = itertools.count()

    def submit(self, requests: Sequence[Any]) -> list[int]:
        tickets = [next(self._tickets) for _ in requests]
        ready = time.monotonic() + self.latency
        for ticket, request in zip(tickets, requests, strict=True):
            heapq.heappush(self._due, (ready, ticket, request))
        return tickets

    def step(self) -> list[tuple[int, Any]]:
        from cai.api import Generation

        if not self._due:
            return []
        time.sleep(max(0.0, min(self._due[0][0] - time.monotonic(), 0.05)))
        done = []
        while self._due and self._due[0][0] <= time.monotonic():
            _, ticket, request = heapq.heappop(self._due)
            text = " ".join(["tok"] * request.max_tokens)
            done.append((ticket, Generation(text, "length", 10, request.max_tokens)))
        return done

    def prompt_tokens(self, messages: Sequence[Mapping[str, str]]) -> int:
        return 10

    def close(self) -> None:
        pass


def part_real(args: argparse.Namespace) -> dict[str, Any]:
    """Both engines loaded, timed in turns (A B, B A, ...): this machine is shared and its load drifts by the minute.

    The in-process engine runs in a child process of its own, as `cai revise` runs it: no Ray in that process.
    Only the engine being timed works; the other waits idle (the replica's engine thread sleeps).
    """
    from cai import api

    requests = workload(args.prompts, args.max_tokens)
    cpus = float(os.cpu_count() or 1)
    sizes = ["--prompts", str(args.prompts), "--max-tokens", str(args.max_tokens)]
    child = subprocess.Popen(
        [sys.executable, __file__, "--in-process-child", *sizes],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        loaded = _answer(child)
        started = time.perf_counter()
        remote = api.ray_engine(replica_cpus=cpus)
        report: dict[str, Any] = {
            "workload": {"prompts": args.prompts, "max_tokens": args.max_tokens},
            "in_process": loaded,
            "replica": {"ready_seconds": round(time.perf_counter() - started, 1), "cpus": cpus, "dtype": remote.dtype},
            "pairs": [],
        }
        try:
            for pair in range(args.repeat):
                names = ["in_process", "one_replica"] if pair % 2 == 0 else ["one_replica", "in_process"]
                timings = {name: _ask(child) if name == "in_process" else timed(remote, requests) for name in names}
                ratio = timings["one_replica"]["tokens_per_second"] / timings["in_process"]["tokens_per_second"]
                report["pairs"].append({**timings, "ratio": round(ratio, 3)})
                print(json.dumps(report["pairs"][-1]), file=sys.stderr)
        finally:
            remote.close()
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(60)
    report["median_ratio"] = round(statistics.median(p["ratio"] for p in report["pairs"]), 3)
    seconds = {name: sum(p[name]["seconds"] for p in report["pairs"]) for name in ("in_process", "one_replica")}
    report["ratio_of_totals"] = round(seconds["in_process"] / seconds["one_replica"], 3)  # same tokens each run
    return report


def in_process_child(args: argparse.Namespace) -> None:
    """Child mode: the in-process engine, one timed run per line on stdin, each result a JSON line on stdout."""
    from cai import api

    requests = workload(args.prompts, args.max_tokens)
    started = time.perf_counter()
    engine = api.build_engine()
    print(json.dumps({"load_seconds": round(time.perf_counter() - started, 1), "dtype": engine.dtype}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(timed(engine, requests)), flush=True)
    engine.close()


def _ask(child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    return _answer(child)


def _answer(child: subprocess.Popen[str]) -> dict[str, Any]:
    """The child's next JSON line (anything else a library printed is skipped)."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("{"):
            answer: dict[str, Any] = json.loads(line)
            return answer
    raise RuntimeError(f"the in-process child ended (exit {child.wait()})")


def part_scaling(args: argparse.Namespace) -> dict[str, Any]:
    from cai import api

    cpus = float(os.cpu_count() or 1)
    results: dict[str, Any] = {
        "latency_seconds": args.latency,
        "concurrency_per_replica": args.concurrency,
        "reply_tokens": args.reply_tokens,
        "rounds": args.rounds,
        "runs": [],
    }
    base = None
    for n in (1, 2, 4, 8, 16):
        engine = api.ray_engine(  # fakes compute nothing: each replica reserves a share of the CPUs
            replicas=n, replica_cpus=cpus / n, build=_fake_factory(args.latency), concurrency=args.concurrency
        )
        requests = workload(n * args.concurrency * args.rounds, args.reply_tokens)
        drain(engine, requests[: n * args.concurrency], window=n * args.concurrency)  # warm: every path once
        peak = [rss_mb()]
        stop = threading.Event()

        def sample(peak: list[float] = peak, stop: threading.Event = stop) -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        tokens = drain(engine, requests, window=n * args.concurrency)
        seconds = time.perf_counter() - began
        stop.set()
        sampler.join()
        engine.close()
        rate = tokens / seconds
        base = base or rate
        run = {
            "replicas": n,
            "requests": len(requests),
            "seconds": round(seconds, 2),
            "tokens_per_second": round(rate, 1),
            "ratio_to_n_times_one": round(rate / (n * base), 3),
            "driver_peak_rss_mb": round(peak[0], 1),
        }
        print(json.dumps(run), file=sys.stderr)
        results["runs"].append(run)
    return results


def _fake_factory(latency: float) -> Any:
    def build(path: str, engine_args: Mapping[str, str], label: str) -> FixedLatencyEngine:
        return FixedLatencyEngine(latency, label)

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=4, help="real: in-process / one-replica pairs to time")
    parser.add_argument("--latency", type=float, default=2.0, help="scaling: seconds each fake reply takes")
    parser.add_argument("--concurrency", type=int, default=16, help="scaling: requests in flight per replica")
    parser.add_argument("--rounds", type=int, default=4, help="scaling: each replica's slots filled this often")
    parser.add_argument("--reply-tokens", type=int, default=64, help="scaling: tokens in each fake reply")
    parser.add_argument("--skip", choices=["real", "scaling"], action="append", default=[])
    parser.add_argument("--in-process-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ray-replicas.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.in_process_child:
        in_process_child(args)
        return
    report: dict[str, Any] = {"machine": machine()}
    if "scaling" not in args.skip:
        report["scaling"] = part_scaling(args)
    if "real" not in args.skip:
        report["real"] = part_real(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
