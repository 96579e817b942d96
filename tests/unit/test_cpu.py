"""The CPU engine's dtype follows what the processor can do, read from /proc/cpuinfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from cai.engines.cpu import Cpu, default_dtype, read_cpu

AVX2_ONLY = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\n"
ZEN4 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: avx2 avx512f avx512_bf16 avx512_vnni\n\n"
SAPPHIRE_RAPIDS = "model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
ICE_LAKE = "model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512bw avx512_vnni\n"  # AVX-512 but no bf16
GRAVITON3 = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve bf16 i8mm\nCPU part\t: 0xd40\n"


def cpu_from(tmp_path: Path, text: str) -> Cpu:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return read_cpu(path)


@pytest.mark.parametrize(
    ("text", "dtype", "flag"),
    [
        (AVX2_ONLY, "float32", None),
        (ICE_LAKE, "float32", None),
        (ZEN4, "bfloat16", "avx512_bf16"),
        (SAPPHIRE_RAPIDS, "bfloat16", "amx_bf16"),
        (GRAVITON3, "bfloat16", "bf16"),
    ],
)
def test_bf16_only_where_the_cpu_computes_it(tmp_path: Path, text: str, dtype: str, flag: str | None) -> None:
    cpu = cpu_from(tmp_path, text)
    assert cpu.native_bf16 == flag
    chosen, why = default_dtype(cpu)
    assert chosen == dtype
    assert (flag or "no native bf16") in why


def test_first_processor_block_and_flags_for_benchmarks(tmp_path: Path) -> None:
    cpu = cpu_from(tmp_path, AVX2_ONLY)
    assert cpu.model == "AMD EPYC 7B13"
    assert cpu.vector_flags == ["avx2"]
    assert cpu.describe() == "AMD EPYC 7B13 (avx2)"


def test_unreadable_cpuinfo_means_no_flags_so_float32(tmp_path: Path) -> None:
    cpu = read_cpu(tmp_path / "missing")
    assert cpu.flags == frozenset()
    assert default_dtype(cpu)[0] == "float32"
