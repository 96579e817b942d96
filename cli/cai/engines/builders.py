"""Engines built outside a command: in this process, over vLLM servers, as Ray actors, or lent to a run.

What `cai.api` hands a notebook or a benchmark, and how any run turns `--model` into what vLLM loads and
the label written on rows (`resolve_model`). Nothing heavy is imported until an engine is built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from cai.engines.model import resolve_model
from cai.engines.protocol import Engine, Generation, Message, Request
from cai.engines.registry import EngineFactory, engine_kind

Note = Callable[[str], None]


def build_engine(
    model: str | None = None, engine_args: Mapping[str, str] | None = None, label: str | None = None
) -> Engine:
    """vLLM in this process on `model` (default: the embedded SmolLM2), with cai's CPU or GPU defaults;
    `label` is the model name written on rows (default: what the commands write)."""
    from cai.engines.vllm import VLLMEngine

    path, default_label = resolve_model(model, lambda message: None)
    return VLLMEngine(path, dict(engine_args or {}), model_name=label or default_label)


def server_engine(urls: Sequence[str], model: str | None = None, concurrency: int = 64) -> Engine:
    """An engine over vLLM servers (`vllm serve`, `cai model serve`), each checked first as `--server` does;
    `concurrency` requests in flight per server, as --server-concurrency."""
    from cai.engines.probe import check_servers
    from cai.engines.server import DEFAULT_SETTINGS, ServerEngine

    fleet = check_servers(urls, model)
    settings = replace(DEFAULT_SETTINGS, concurrency=concurrency)
    return ServerEngine(fleet.urls, fleet.model, fleet.max_model_len, settings)


def ray_engine(
    model: str | None = None,
    engine_args: Mapping[str, str] | None = None,
    *,
    address: str = "local",
    replicas: int = 1,
    replica_cpus: float | None = None,
    replica_gpus: float | None = None,
    build: EngineFactory | None = None,
    concurrency: int = 64,
    label: str | None = None,
) -> Engine:
    """Engines as Ray actors, as `--ray ADDRESS --replicas N` starts them: replicas of the in-process engine
    on `model` (default: the embedded model), or of the engine `build(path, engine_args, label)` makes."""
    from cai.engines.links import ReplicaSettings
    from cai.engines.ray import RayOptions, start_replicas

    cluster = RayOptions(address, replicas, replica_cpus, replica_gpus).resolved()
    assert cluster is not None
    if build is None:
        path, default_label = resolve_model(model, lambda message: None)
        build = engine_kind(None).build
    else:
        path, default_label = model or "-", "fake"
    settings = ReplicaSettings(concurrency=concurrency)
    embedded = model is None and build is engine_kind(None).build

    def note(message: str) -> None:  # a library never writes to stdout
        print(f"cai: {message}", file=sys.stderr)

    return start_replicas(cluster, build, path, engine_args or {}, label or default_label, embedded, settings, note)


def embedded_model() -> tuple[str, str]:
    """(folder, row label) of the embedded SmolLM2-135M-Instruct, converted on first use."""
    return resolve_model(None, lambda message: None)


def vllm_settings(engine_args: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments cai gives `vllm.LLM` on this machine (its defaults, then `engine_args` typed):
    what a raw-vLLM baseline needs to run under the same settings."""
    import dataclasses

    import vllm

    from cai.engines.args import coerce_engine_args
    from cai.engines.vllm import engine_defaults, on_cpu

    fields = {f.name: f.type for f in dataclasses.fields(vllm.EngineArgs)}
    return {**engine_defaults(on_cpu())[0], **coerce_engine_args(dict(engine_args or {}), fields)}


class Lent:
    """An engine lent to a run: the run's close() leaves it open for the caller."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.model_name, self.max_model_len = engine.model_name, engine.max_model_len
        self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self.engine.generate(requests)

    def submit(self, requests: Sequence[Request]) -> list[int]:
        return self.engine.submit(requests)

    def collect(self) -> list[tuple[int, Generation]]:
        return self.engine.collect()

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.engine.prompt_tokens(messages)

    def close(self) -> None:
        pass
