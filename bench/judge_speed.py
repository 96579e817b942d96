"""How fast the pairwise judge is, and how much of its prompt the prefix cache serves.

On one pair file (default: the 48 hand-labelled pairs of bench/data), each in a process of its own:

1. score   — `cai score --principles K` end to end; every request it sends is traced.
2. replay  — raw vLLM given the same requests all at once (one `llm.chat`): the ceiling.
3. old     — raw vLLM scoring the same questions the way cai did before (both continuations "...(A"
             and "...(B" with prompt_logprobs), all at once: what the next-token read saves.

for K = 1 and 4. It prints judged pairs/s, the time ratio K=4 / K=1, the share of judge prompt tokens
the prefix cache served, and how many verdicts needed the continuation fallback. Results go to
bench/results/judge-speed[-avx2].json; BENCHMARKS.md records them.

    .venv/bin/python bench/judge_speed.py
    .venv/bin/python bench/judge_speed.py --emulate-avx2        # see bench/cpu_emulation.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "cli"), str(ROOT / "bench")]

import cpu_emulation  # noqa: E402
from throughput import machine  # noqa: E402


def phase_score(args: argparse.Namespace) -> dict[str, Any]:
    from cai import api
    from cai.api import Engine, Generation, Request, StageDone

    trace: list[dict[str, Any]] = []

    class Tracing:
        def __init__(self, engine: Engine):
            self.engine, self.model_name, self.max_model_len = engine, engine.model_name, engine.max_model_len
            self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason
            self.started = 0.0

        def generate(self, requests: Sequence[Request]) -> list[Generation]:
            raise AssertionError("cai score drives the engine through submit/collect")

        def submit(self, requests: Sequence[Request]) -> list[int]:
            self.started = self.started or time.perf_counter()
            trace.extend({"messages": r.messages, "logprobs": r.logprobs, "record": r.affinity} for r in requests)
            return self.engine.submit(requests)

        def collect(self) -> list[tuple[int, Generation]]:
            return self.engine.collect()

        def prompt_tokens(self, messages: Any) -> int:
            return self.engine.prompt_tokens(messages)

        def close(self) -> None:
            self.engine.close()

    class Quiet:
        def note(self, message: str) -> None: ...

        def begin(self, totals: Any) -> None: ...

        def advance(self, event: StageDone) -> None: ...

    engines: list[Tracing] = []

    def factory(path: str, engine_args: Any, label: str) -> Tracing:
        engines.append(Tracing(api.build_engine(path, engine_args, label)))
        return engines[0]

    out = Path(args.workdir) / f"scored-{args.principles}.jsonl"
    job = api.ScoreJob.of(
        chunk_size=args.chunk_size,
        rows=args.data,
        output=str(out),
        principles=args.principles,
        overwrite=True,
        engine_args=tuple(args.engine_arg),
    )
    summary = api.run_score(job, Quiet(), factory)
    seconds = time.perf_counter() - engines[0].started
    (Path(args.workdir) / "trace.json").write_text(json.dumps(trace))
    methods: dict[str, int] = {}
    for line in out.read_text().splitlines():
        for principle in json.loads(line)["scores"]["principles"]:
            for method in principle["method"].values():
                methods[method] = methods.get(method, 0) + 1
    return {
        "pairs": summary.rows_out,
        "requests": len(trace),
        "dtype": summary.dtype,
        "seconds": round(seconds, 2),
        "load_seconds": round(summary.load_seconds, 2),
        "pairs_per_second": round(summary.rows_out / seconds, 3),
        "prompt_tokens": summary.prompt_tokens,
        "prefix_cache_rate": round(summary.prefix_cache_rate, 4),
        "methods": methods,
        "agreement_with_labels": summary.reliability()["agreement_with_labels"],
        "position_consistency_rate": summary.reliability()["position_consistency_rate"],
    }


def phase_replay(args: argparse.Namespace) -> dict[str, Any]:
    """The traced requests at once on raw vLLM; `--old` scores both continuations of each question instead."""
    from throughput import _llm
    from vllm import SamplingParams

    trace = json.loads((Path(args.workdir) / "trace.json").read_text())
    llm = _llm(args.engine_arg)
    if args.old:
        questions = [r for r in trace if r["logprobs"]]
        conversations = [
            [*r["messages"][:-1], {**r["messages"][-1], "content": r["messages"][-1]["content"] + o}]
            for r in questions
            for o in "AB"
        ]
        records = [r.get("record") or 0 for r in questions for _ in "AB"]
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
    else:
        conversations = [r["messages"] for r in trace]
        records = [r.get("record") or 0 for r in trace]
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=20)
    # the same priorities cai's engine gives them (its record's start number), so the ceiling is a fair one
    by_priority = llm.llm_engine.vllm_config.scheduler_config.policy == "priority"
    priority = records if by_priority else None
    started = time.perf_counter()
    outputs = llm.chat(
        conversations,
        params,
        use_tqdm=False,
        add_generation_prompt=False,
        continue_final_message=True,
        priority=priority,
    )
    seconds = time.perf_counter() - started
    prompt = sum(len(o.prompt_token_ids) for o in outputs)
    cached = sum(o.num_cached_tokens or 0 for o in outputs)
    return {
        "requests": len(conversations),
        "seconds": round(seconds, 2),
        "prefix_cache_rate": round(cached / prompt, 4),
    }


PHASES = {"score": phase_score, "replay": phase_replay}


def run_phase(phase: str, args: argparse.Namespace, workdir: str, principles: int, old: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--workdir", workdir, "--principles", str(principles)]
    command += (
        ["--data", args.data, "--chunk-size", str(args.chunk_size)]
        + [f"-E{item}" for item in args.engine_arg]
        + (["--old"] if old else [])
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **cpu_emulation.environment(args.emulate_avx2)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "bench" / "data" / "harmless-pairs.jsonl"))
    parser.add_argument("--engine-arg", "-E", action="append", default=[])
    parser.add_argument("--chunk-size", type=int, default=32, help="cai score's --chunk-size (rows in flight)")
    parser.add_argument("--emulate-avx2", action="store_true")
    parser.add_argument("--skip-old", action="store_true", help="skip the continuation-scoring replay")
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument("--workdir", default="")
    parser.add_argument("--principles", type=int, default=4)
    parser.add_argument("--old", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    report: dict[str, Any] = {
        "data": args.data,
        "engine_arg": args.engine_arg,
        "chunk_size": args.chunk_size,
        "machine": machine(args.emulate_avx2),
    }
    for principles in (1, 4):
        with tempfile.TemporaryDirectory() as folder:
            run = {"score": run_phase("score", args, folder, principles)}
            run["replay"] = run_phase("replay", args, folder, principles)
            if not args.skip_old:
                run["old"] = run_phase("replay", args, folder, principles, old=True)
            run["cai_over_replay"] = round(run["replay"]["seconds"] / run["score"]["seconds"], 3)
            report[f"principles_{principles}"] = run
            print(f"K={principles}: {json.dumps(run)}", flush=True)
    report["k4_over_k1_time"] = round(
        report["principles_4"]["score"]["seconds"] / report["principles_1"]["score"]["seconds"], 3
    )
    print(f"time K=4 / K=1: {report['k4_over_k1_time']}")
    out = args.out or str(ROOT / "bench" / "results" / f"judge-speed{'-avx2' if args.emulate_avx2 else ''}.json")
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
