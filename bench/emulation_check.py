"""Does bench/avx2 reproduce what an AVX2-only CPU does to bf16? Raw vLLM, bf16 and float32, both ways.

Four processes, one setting each: {native, emulated AVX2} x {bfloat16, float32}; each generates 64
tokens for 32 chat prompts (`ignore_eos`, seeded) on one raw `vllm.LLM` with cai's CPU settings and
prints generated tok/s. On a real AVX2-only EPYC the same `cai revise` ran 2.9x faster in float32 than
in bf16 (15 against 44 generated tok/s, issue 9); the emulation should show the same order.

    .venv/bin/python bench/emulation_check.py          # writes bench/results/emulation-check.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "cli"), str(ROOT / "bench")]

import cpu_emulation  # noqa: E402
from throughput import _llm, machine  # noqa: E402


def measure(dtype: str) -> dict[str, Any]:
    import torch
    from vllm import SamplingParams

    llm = _llm([f"dtype={dtype}"])
    conversations = [[{"role": "user", "content": f"Tell me a story about the number {i}."}] for i in range(32)]
    params = SamplingParams(max_tokens=64, temperature=0.7, ignore_eos=True, seed=1)
    llm.chat(conversations[:2], params, use_tqdm=False)  # warm-up
    started = time.perf_counter()
    outputs = llm.chat(conversations, params, use_tqdm=False)
    seconds = time.perf_counter() - started
    tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    return {
        "dtype": dtype,
        "isa": torch.backends.cpu.get_cpu_capability(),
        "tokens_per_second": round(tokens / seconds, 1),
    }


def main() -> None:
    if len(sys.argv) == 2:
        print(json.dumps(measure(sys.argv[1])))
        return
    results: dict[str, Any] = {"machine": machine()}
    for emulate in (False, True):
        for dtype in ("bfloat16", "float32"):
            env = {**os.environ, "HF_HUB_OFFLINE": "1", **cpu_emulation.environment(emulate)}
            done = subprocess.run(
                [sys.executable, __file__, dtype], env=env, check=True, capture_output=True, text=True
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[f"{'avx2' if emulate else 'native'}-{dtype}"] = result
            print(f"{'emulated AVX2' if emulate else 'native':<14} {dtype:<9} {result}", flush=True)
    for kind in ("native", "avx2"):
        ratio = results[f"{kind}-float32"]["tokens_per_second"] / results[f"{kind}-bfloat16"]["tokens_per_second"]
        results[f"{kind}_float32_over_bfloat16"] = round(ratio, 2)
    out = ROOT / "bench" / "results" / "emulation-check.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
