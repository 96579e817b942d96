"""cai sample -n 4 against raw vLLM drawing the same 4 samples per prompt, and cai score --pairs all vs best-worst.

Each phase runs in a process of its own (a fresh engine, a cold prefix cache), on the same prompts and sampling:

1. cai        — `cai sample -n 4` (cai.api.run_sample): 4 requests per prompt with per-candidate seeds, sent together.
2. raw-n      — one raw `vllm.LLM` request per prompt with SamplingParams(n=4): the issue's baseline.
3. raw-seeds  — raw vLLM, 4 requests per prompt with cai's exact seeds: the same tokens cai generated, so the
                same work; it tells cai's own overhead apart from what n=4 does differently.
4. score-best-worst, score-all — `cai score --pairs best-worst|all` on the rows phase 1 wrote: the judge's
                requests, prompt tokens, prefix-cache share, time, and the pairs each emits.

Results go to bench/results/sample-speed.json; BENCHMARKS.md records them.

The machine is shared, so the load changes from phase to phase: `--repeats R` runs the three sampling
phases R times, interleaved (cai, raw-n, raw-seeds, cai, ...), and reports each run and the medians.
Every sampling phase also notes its process's CPU time while generating (vLLM runs in the process), so
tokens per CPU-second compare the work itself when other jobs take the cores.

    .venv/bin/python bench/sample_speed.py                      # defaults below
    .venv/bin/python bench/sample_speed.py --prompts 16 --repeats 3 --skip score
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import _llm, machine, sample_prompts  # noqa: E402


def phase_cai(args: argparse.Namespace) -> dict[str, Any]:
    from cai import api

    folder = Path(args.workdir)
    prompts = folder / "prompts.jsonl"
    prompts.write_text("\n".join(sample_prompts(args.prompts)) + "\n")
    job = api.SampleJob.of(
        str(prompts), str(folder / "sampled.jsonl"), n=args.n, max_tokens=args.max_tokens,
        temperature=args.temperature, top_p=args.top_p, chunk_size=args.chunk_size, overwrite=True,
    )  # fmt: skip
    started = time.perf_counter()
    engine = api.build_engine(engine_args=dict(arg.split("=", 1) for arg in args.engine_arg))
    cpu_started = time.process_time()
    summary = api.run_sample(job, engine=engine)
    cpu_seconds = time.process_time() - cpu_started
    rows = list(api.read_rows(folder / "sampled.jsonl"))
    (folder / "requests.json").write_text(json.dumps(_requests(rows)))
    return {
        "generated_tokens": summary.output_tokens,
        "prompt_tokens": summary.prompt_tokens,
        "prefix_cache_rate": round(summary.prefix_cache_rate, 4),
        "generate_seconds": round(summary.generate_seconds, 2),
        "load_seconds": round(summary.load_seconds, 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "tokens_per_second": round(summary.output_tokens / summary.generate_seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "tokens_per_cpu_second": round(summary.output_tokens / cpu_seconds, 1),
        "rows": summary.rows_out,
        "rows_with_identical": summary.rows_with_identical,
        "dropped": dict(summary.dropped),
    }


def _requests(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every candidate cai asked for: its conversation, seed and sampling (what raw-seeds replays)."""
    return [
        {"messages": row["prompt"], "seed": seed, **{k: row["cai"]["sampling"][k] for k in ("temperature", "top_p")}}
        for row in rows
        for seed in row["cai"]["seeds"]
    ]


def _timed(llm: Any, conversations: list[Any], params: list[Any]) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    outputs = llm.chat(conversations, params, use_tqdm=False)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tokens = sum(len(completion.token_ids) for output in outputs for completion in output.outputs)
    prompt = sum(len(output.prompt_token_ids) for output in outputs)
    cached = sum(output.num_cached_tokens or 0 for output in outputs)
    return {
        "generated_tokens": tokens,
        "samples": sum(len(output.outputs) for output in outputs),
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "tokens_per_cpu_second": round(tokens / cpu_seconds, 1),
        "prompt_tokens_reported": prompt,
        "cached_tokens_reported": cached,
    }


def phase_raw_n(args: argparse.Namespace) -> dict[str, Any]:
    """One request per prompt, n samples: vLLM fans it out into n child requests seeded seed + i."""
    from vllm import SamplingParams

    rows = [json.loads(line) for line in sample_prompts(args.prompts)]
    conversations = [row.get("messages") or [{"role": "user", "content": row["prompt"]}] for row in rows]
    params = [
        SamplingParams(n=args.n, max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p, seed=i)
        for i in range(len(rows))
    ]
    return _timed(_llm(args.engine_arg), conversations, params)


def phase_raw_seeds(args: argparse.Namespace) -> dict[str, Any]:
    """cai's requests replayed as they were (same conversations, seeds, sampling), all at once."""
    from vllm import SamplingParams

    requests = json.loads((Path(args.workdir) / "requests.json").read_text())
    params = [
        SamplingParams(max_tokens=args.max_tokens, temperature=r["temperature"], top_p=r["top_p"], seed=r["seed"])
        for r in requests
    ]
    return _timed(_llm(args.engine_arg), [r["messages"] for r in requests], params)


def phase_score(args: argparse.Namespace) -> dict[str, Any]:
    """`cai score --pairs MODE` on the first --score-rows rows cai sampled."""
    from cai import api

    folder = Path(args.workdir)
    rows = [line for line in (folder / "sampled.jsonl").read_text().splitlines()][: args.score_rows]
    source = folder / "to-score.jsonl"
    source.write_text("\n".join(rows) + "\n")
    out = folder / f"scored-{args.pairs}.jsonl"
    job = api.ScoreJob.of(str(source), str(out), pairs=args.pairs, principles=args.principles, overwrite=True)
    summary = api.run_score(job)
    emitted = len(out.read_text().splitlines())
    judge_seconds = summary.wall_seconds - summary.load_seconds
    return {
        "rows": summary.rows_out,
        "pairs_judged": summary.pair_judgements,
        "pairs_emitted": emitted,
        "prompt_tokens": summary.prompt_tokens,
        "prefix_cache_rate": round(summary.prefix_cache_rate, 4),
        "judge_seconds": round(judge_seconds, 2),
        "seconds_per_emitted_pair": round(judge_seconds / emitted, 3),
        "prompt_tokens_per_emitted_pair": round(summary.prompt_tokens / emitted),
        "identical_pairs_left_out": summary.identical_pairs,
    }


PHASES = {"cai": phase_cai, "raw-n": phase_raw_n, "raw-seeds": phase_raw_seeds, "score": phase_score}
WORKLOAD = ("prompts", "n", "max_tokens", "temperature", "top_p", "chunk_size", "score_rows", "principles")


def run_phase(phase: str, args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    settings = {**{k: getattr(args, k) for k in WORKLOAD}, "workdir": args.workdir, **overrides}
    command = [sys.executable, __file__, "--phase", phase]
    for key, value in settings.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    for item in args.engine_arg:
        command += ["-E", item]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    rates = {name: report[name]["tokens_per_second"] for name in ("cai", "raw_n", "raw_seeds") if name in report}
    found: dict[str, Any] = {"cai_over_raw_n": round(rates["cai"] / rates["raw_n"], 3)}
    if "raw_seeds" in rates:
        found["cai_over_raw_seeds"] = round(rates["cai"] / rates["raw_seeds"], 3)
        found["raw_seeds_over_raw_n"] = round(rates["raw_seeds"] / rates["raw_n"], 3)
    if "tokens_per_cpu_second" in report["cai"]:
        per_cpu = {name: report[name]["tokens_per_cpu_second"] for name in rates}
        found["cai_over_raw_n_per_cpu_second"] = round(per_cpu["cai"] / per_cpu["raw_n"], 3)
        if "raw_seeds" in per_cpu:
            found["cai_over_raw_seeds_per_cpu_second"] = round(per_cpu["cai"] / per_cpu["raw_seeds"], 3)
    if "runs" in report:
        runs = report["runs"]
        found["cai_over_raw_n_per_repeat"] = [
            round(cai["tokens_per_second"] / raw["tokens_per_second"], 3)
            for cai, raw in zip(runs["cai"], runs["raw_n"], strict=True)
        ]
    if "score_all" in report:
        best, every = report["score_best_worst"], report["score_all"]
        found["judge_seconds_all_over_best_worst"] = round(every["judge_seconds"] / best["judge_seconds"], 3)
        found["cost_per_pair_all_over_best_worst"] = round(
            every["seconds_per_emitted_pair"] / best["seconds_per_emitted_pair"], 3
        )
    return found


def sample_runs(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """The sampling phases, `--repeats` times, interleaved; each run notes the load average it started at."""
    phases = ["cai", "raw-n"] + ([] if "raw-seeds" in args.skip else ["raw-seeds"])
    runs: dict[str, list[dict[str, Any]]] = {phase.replace("-", "_"): [] for phase in phases}
    for _ in range(args.repeats):
        for phase in phases:
            load = os.getloadavg()[0]
            runs[phase.replace("-", "_")].append({**run_phase(phase, args), "load_average_1m": round(load, 1)})
    return runs


def median_run(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median tok/s (the first of the two middle ones for an even count)."""
    return sorted(found, key=lambda run: run["tokens_per_second"])[(len(found) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--score-rows", type=int, default=16)
    parser.add_argument("--principles", type=int, default=4)
    parser.add_argument("--pairs", default="best-worst")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of the sampling phases")
    parser.add_argument("--engine-arg", "-E", action="append", default=[])
    parser.add_argument("--skip", nargs="*", default=[], choices=["raw-seeds", "score"])
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument("--workdir", default="")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sample-speed.json"))
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    with tempfile.TemporaryDirectory() as folder:
        args.workdir = folder
        report: dict[str, Any] = {"workload": {k: getattr(args, k) for k in WORKLOAD}, "machine": machine()}
        report["load_average_before"] = os.getloadavg()
        runs = sample_runs(args)
        report.update({name: median_run(found) for name, found in runs.items()})
        if args.repeats > 1:
            report["runs"] = runs
        if "score" not in args.skip:
            report["score_best_worst"] = run_phase("score", args, pairs="best-worst")
            report["score_all"] = run_phase("score", args, pairs="all")
        report["load_average_after"] = os.getloadavg()
    report["ratios"] = ratios(report)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
