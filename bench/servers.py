"""cai over vLLM servers: one real server against in-process, and client scaling over fake servers.

1. real     — the same chat workload (N prompts, M new tokens, seeded, temperature 0.7) through the
              in-process VLLMEngine, then through ServerEngine against one `cai model serve` server on
              this machine (started after the in-process engine is closed, so they never share the CPU).
              Generated tokens/s of each, and their ratio (target >= 0.85). Also how long the server
              took to answer /health.
2. scaling  — N fake servers (tests/fake_openai.py, in a process of their own) that each produce a fixed
              number of tokens per second whatever their concurrency, N = 1, 2, 4, 8, 16: cai's
              throughput over N servers against N times one server's (target >= 0.9), and the client's
              peak RSS at each N (memory should stay flat).

Results go to bench/results/servers.json; BENCHMARKS.md records them.

    .venv/bin/python bench/servers.py                      # both parts
    .venv/bin/python bench/servers.py --skip real          # scaling only (no vLLM)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from throughput import machine, sample_prompts  # noqa: E402


def workload(count: int, max_tokens: int) -> list[Any]:
    from cai.api import Request

    rows = [json.loads(line) for line in sample_prompts(count)]
    chats = [
        tuple(row["messages"]) if "messages" in row else ({"role": "user", "content": row["prompt"]},) for row in rows
    ]
    return [Request(messages=chat, max_tokens=max_tokens, seed=i, affinity=i) for i, chat in enumerate(chats)]


def timed(engine: Any, requests: list[Any]) -> dict[str, Any]:
    engine.generate(requests[:2])  # warm: the first request pays one-time costs on either engine
    started = time.perf_counter()
    outputs = engine.generate(requests)
    seconds = time.perf_counter() - started
    tokens = sum(o.output_tokens for o in outputs)
    return {"seconds": round(seconds, 2), "output_tokens": tokens, "tokens_per_second": round(tokens / seconds, 1)}


def part_real(args: argparse.Namespace) -> dict[str, Any]:
    from tests.integration.served import serving

    from cai import api

    requests = workload(args.prompts, args.max_tokens)
    local = api.build_engine()
    report: dict[str, Any] = {"workload": {"prompts": args.prompts, "max_tokens": args.max_tokens}}
    report["in_process"] = {**timed(local, requests), "dtype": local.dtype}
    local.close()
    del local
    with tempfile.TemporaryDirectory() as logs, serving(1, Path(logs)) as (server,):
        report["server_ready_seconds"] = round(server.ready_seconds, 1)
        remote = api.server_engine([server.url])
        try:
            report["one_server"] = timed(remote, requests)
        finally:
            remote.close()
    report["ratio"] = round(report["one_server"]["tokens_per_second"] / report["in_process"]["tokens_per_second"], 3)
    return report


def fake_servers(count: int, rate: float) -> None:
    """Child mode: serve `count` fake servers at `rate` tokens/s each; print their URLs; run until stdin closes."""
    from tests.fake_openai import FakeServer
    from tests.fakes import ScriptedEngine

    def words(request: Any) -> str:
        return " ".join(["tok"] * request.max_tokens)

    servers = [
        FakeServer(engine=ScriptedEngine(responder=words), rate=rate, record=False).start() for _ in range(count)
    ]
    print(" ".join(s.url for s in servers), flush=True)
    sys.stdin.read()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drain(engine: Any, requests: list[Any], window: int) -> int:
    """Keep `window` requests in flight (as cai's records do) until all are answered; the output tokens."""
    pending = iter(requests)
    in_flight = len(engine.submit([r for _, r in zip(range(window), pending, strict=False)]))
    tokens = 0
    while in_flight:
        done = engine.collect()
        tokens += sum(generation.output_tokens for _, generation in done)
        in_flight += len(engine.submit([r for _, r in zip(range(len(done)), pending, strict=False)])) - len(done)
    return tokens


def part_scaling(args: argparse.Namespace) -> dict[str, Any]:
    from cai import api

    results: dict[str, Any] = {
        "rate_per_server": args.rate,
        "reply_tokens": args.reply_tokens,
        "seconds_per_run": args.seconds,
        "runs": [],
    }
    base = None
    for n in (1, 2, 4, 8, 16):
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(n), "--rate", str(args.rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "cli"), str(ROOT)])},
        )
        try:
            assert child.stdout is not None
            urls = child.stdout.readline().split()
            count = int(n * args.rate * args.seconds / args.reply_tokens)
            requests = workload(count, args.reply_tokens)
            engine = api.server_engine(urls, concurrency=64)
            peak = [rss_mb()]
            stop = threading.Event()

            def sample(peak: list[float] = peak, stop: threading.Event = stop) -> None:
                while not stop.wait(0.05):
                    peak[0] = max(peak[0], rss_mb())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            tokens = drain(engine, requests, window=n * 64)
            seconds = time.perf_counter() - started
            stop.set()
            sampler.join()
            engine.close()
        finally:
            child.kill()
            child.wait()
        rate = tokens / seconds
        base = base or rate
        run = {
            "servers": n,
            "requests": count,
            "tokens_per_second": round(rate, 1),
            "ratio_to_n_times_one": round(rate / (n * base), 3),
            "client_peak_rss_mb": round(peak[0], 1),
        }
        print(json.dumps(run), file=sys.stderr)
        results["runs"].append(run)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rate", type=float, default=2000.0, help="scaling: tokens/s of each fake server")
    parser.add_argument("--seconds", type=float, default=20.0, help="scaling: about how long each run lasts")
    parser.add_argument("--reply-tokens", type=int, default=256, help="scaling: tokens in each fake reply")
    parser.add_argument("--skip", choices=["real", "scaling"], action="append", default=[])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "servers.json")
    args = parser.parse_args()
    if args.child:
        fake_servers(args.child, args.rate)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
