"""`cai model serve`: the `vllm serve` command line for the embedded model with cai's CPU defaults.

The served model name is the label cai writes on rows for the embedded model, so a run over such a
server writes the same record keys as a run in-process (and resumes either one). The server also
gets `--enable-prompt-tokens-details` (cached-token counts in every reply) and `--generation-config
vllm` (vLLM's sampling defaults, as in-process, rather than the model folder's).
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import sys
from collections.abc import Mapping
from typing import Any

from cai.engines.cpu import default_dtype, read_cpu
from cai.engines.vllm import CPU_DEFAULTS

# offline LLM(...) arguments with no `vllm serve` flag; and the priority policy, which only pays off when the
# priorities come from one client's records (a server shared by several runs keeps first come, first served)
NOT_SERVER_FLAGS = {"use_tqdm_on_load", "scheduling_policy"}
SERVER_ENV = {
    "HF_HUB_OFFLINE": "1",  # the embedded model is local; no hub lookups
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",  # the engine process may compute on every core (2-core machines)
}


def serve_settings(overrides: Mapping[str, str]) -> dict[str, Any]:
    """CPU defaults and the dtype for this CPU, then the user's -E KEY=VALUE (as vLLM's CLI spells values)."""
    dtype, _ = default_dtype(read_cpu())
    settings: dict[str, Any] = {k: v for k, v in CPU_DEFAULTS.items() if k not in NOT_SERVER_FLAGS}
    settings["dtype"] = dtype
    settings.update({"generation_config": "vllm", "enable_prompt_tokens_details": True})
    for key, value in overrides.items():
        lowered = value.lower()
        settings[key] = True if lowered == "true" else False if lowered == "false" else value
    return settings


def launcher(folder: str) -> list[str]:
    """`vllm serve FOLDER`, or vLLM's API server module where the `vllm` CLI cannot start.

    vllm-cpu's `vllm` command asks for the version of a distribution named "vllm" (it is installed as
    "vllm-cpu") and exits with PackageNotFoundError; its API server module takes the same flags.
    """
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", folder]
    return [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", folder]


def serve_command(folder: str, label: str, host: str, port: int, overrides: Mapping[str, str]) -> list[str]:
    argv = [*launcher(folder), "--served-model-name", label]
    argv += ["--host", host, "--port", str(port)]
    for key, value in serve_settings(overrides).items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            argv.append("--no-" + key.replace("_", "-"))
        else:
            argv += [flag, str(value)]
    return argv


def serve_env() -> dict[str, str]:
    return {**SERVER_ENV, **os.environ}


def shown(argv: list[str]) -> str:
    env = " ".join(f"{k}={v}" for k, v in SERVER_ENV.items())
    return f"{env} {shlex.join(argv)}"
