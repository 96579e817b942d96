"""Make every Python process started with this folder on PYTHONPATH behave as on an AVX2-only CPU.

    PYTHONPATH=bench/avx2 .venv/bin/cai revise prompts/sample.jsonl -o /tmp/pairs.jsonl
    PYTHONPATH=$PWD/bench/avx2 make test

For measuring, on a machine with AVX-512 / AMX, what users of AVX2-only processors get (the bench
scripts' --emulate-avx2 sets it for their phases):
- oneDNN and ATen's own kernels are capped at AVX2 (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY);
- torch.cpu's AVX-512 / AVX-512 BF16 / AMX probes answer False, so vLLM loads its AVX2 kernels (_C_AVX2);
- cai.engines.cpu reads a copy of /proc/cpuinfo without the avx512*/amx* flags, so cai picks its AVX2 default.
Both patches are applied right after the module loads (an import hook), so nothing is imported early.
It is an emulation: checked against a real AVX2-only EPYC, bf16 came out 2.2x slower than float32 here
(2.9x there) and the settings ranked the same, but absolute speeds differ from real AVX2 parts.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")


def _patch_torch_cpu(module: ModuleType) -> None:
    for probe in ("_is_avx512_supported", "_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        setattr(module, probe, lambda: False)


def _patch_cai_cpu(module: ModuleType) -> None:
    text = re.sub(r" (avx512\w*|amx\w*)", "", Path("/proc/cpuinfo").read_text())
    copy = Path(tempfile.mkdtemp(prefix="cai-avx2-")) / "cpuinfo"
    copy.write_text(text)
    setattr(module, "CPUINFO", copy)  # noqa: B010  (mypy does not know the module's type)


PATCHES: dict[str, Callable[[ModuleType], None]] = {"torch.cpu": _patch_torch_cpu, "cai.engines.cpu": _patch_cai_cpu}


class _PatchAfterLoad(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module = _then_patch(spec.loader.exec_module, PATCHES[name])  # type: ignore[method-assign,assignment]
                return spec
        return None


def _then_patch(
    load: Callable[[ModuleType], None], patch: Callable[[ModuleType], None]
) -> Callable[[ModuleType], None]:
    def exec_module(module: ModuleType) -> None:
        load(module)
        patch(module)

    return exec_module


sys.meta_path.insert(0, _PatchAfterLoad())
