"""What the processor can do, read from /proc/cpuinfo without importing torch.

The CPU engine's dtype follows it. vLLM's CPU backend lists bfloat16 first on every x86 and ARM
CPU (it assumes native bf16), but only AVX-512 BF16 / AMX (x86) or the ARMv8.6 BF16 extension do bf16
arithmetic in hardware. Elsewhere bf16 is emulated: measured 2.9x slower than float32 on an AVX2-only
EPYC, while float32 is 0.65x of bf16 where bf16 is native (BENCHMARKS.md). Reading the flags here,
not from torch, keeps `cai model info` instant and available without vLLM.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")  # x86 AMX, x86 AVX-512 BF16, ARMv8.6 BF16
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Cpu:
    model: str
    flags: frozenset[str]

    @property
    def native_bf16(self) -> str | None:
        """The flag that gives this CPU bf16 arithmetic in hardware, if any."""
        return next((flag for flag in NATIVE_BF16_FLAGS if flag in self.flags), None)

    @property
    def vector_flags(self) -> list[str]:
        """The flags that decide CPU inference speed: written beside every benchmark figure."""
        wanted = ("avx2", "avx512", "amx", "bf16", "asimd", "sve")
        return sorted(flag for flag in self.flags if flag.startswith(wanted))

    def describe(self) -> str:
        return f"{self.model} ({' '.join(self.vector_flags) or 'no AVX2/AVX-512/AMX flags'})"


def read_cpu(path: Path | None = None) -> Cpu:
    """The first processor's model name and flags; an unknown CPU has no flags (so float32)."""
    try:
        text = (path or CPUINFO).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return Cpu(platform.processor() or platform.machine() or "unknown", frozenset())
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough: every core of a host is alike
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    model = fields.get("model name") or fields.get("cpu model") or platform.machine() or "unknown"
    flags = fields.get("flags") or fields.get("features") or ""
    return Cpu(model, frozenset(flags.split()))


def default_dtype(cpu: Cpu) -> tuple[str, str]:
    """(dtype, why) for the CPU engine when the user did not choose one with -E dtype=..."""
    if cpu.native_bf16:
        return "bfloat16", f"the CPU does bf16 arithmetic natively ({cpu.native_bf16})"
    return (
        "float32",
        "the CPU has no native bf16 arithmetic (no avx512_bf16/amx_bf16): bf16 would be emulated, ~3x slower",
    )
