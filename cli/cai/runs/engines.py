"""What a run generates on: each role's engine resolved before any work, loaded when first needed.

A role (revise's one model; eval's side A, side B and judge) resolves to a `Role`: the path vLLM loads
(or the servers' URLs), the label written on every row, and how to build its engine — an engine kind
from the registry, or the servers given (checked here: exit 2 before any work). `Engines` loads one
role's engine at a time: a role on the model already loaded reuses it, another closes it first, so two
models never share one machine's memory and one model serving every role loads once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from cai.engines.args import parse_engine_args
from cai.engines.model import resolve_model
from cai.engines.protocol import Engine
from cai.engines.registry import EngineFactory, TokenizerFactory, engine_kind
from cai.errors import InputError
from cai.runs.options import EngineOptions
from cai.runs.progress import Progress
from cai.runs.tally import Tally

Note = Callable[[str], None]


@dataclass(frozen=True)
class Role:
    """What one role runs on; `tokenizer` is None on servers (a dry run does not count there)."""

    path: str
    label: str
    build: EngineFactory
    engine_args: Mapping[str, str]
    tokenizer: TokenizerFactory | None


def resolve_role(model_name: str | None, options: EngineOptions, note: Note) -> Role:
    """The in-process engine on a model (the embedded one by default), or the servers, checked."""
    from cai.engines.probe import check_servers, server_urls  # httpx loads only for runs on servers
    from cai.engines.ray import RayOptions, ray_engine_factory  # Ray itself loads only when replicas start

    engine_args = parse_engine_args(options.engine_args)
    urls = server_urls(options.servers, options.servers_file)
    cluster = RayOptions(options.ray, options.replicas, options.replica_cpus, options.replica_gpus).resolved()
    if cluster is not None and urls:
        raise InputError(
            "--ray and --server (or --servers-file, CAI_SERVERS) cannot be combined: on --ray cai starts and "
            "owns its engines, --server uses engines started by hand; give one of them"
        )
    if not urls:
        kind = engine_kind(options.engine)
        path, label = resolve_model(model_name, note)
        build = kind.build
        if cluster is not None:
            build = ray_engine_factory(cluster, kind.build, model_name is None, options.server_concurrency, note)
        return Role(path, label, build, engine_args, kind.tokenizer)
    if engine_args:
        raise InputError(
            f"-E/--engine-arg {next(iter(engine_args))}: with --server the engine settings belong to the servers "
            "(give them to vllm serve, or to cai model serve -E)"
        )
    fleet = check_servers(urls, model_name)
    note(f"{len(urls)} server(s) ready, vLLM {', '.join(sorted(set(fleet.versions)))}, serving {fleet.model}")

    def connect(path: str, args: Mapping[str, str], label: str) -> Engine:
        from cai.engines import server

        settings = replace(server.DEFAULT_SETTINGS, concurrency=options.server_concurrency)
        return server.ServerEngine(fleet.urls, fleet.model, fleet.max_model_len, settings, note)

    return Role(",".join(fleet.urls), fleet.model, connect, {}, None)


class Engines:
    """One loaded engine at a time, for whichever role asks; the summary learns each load's time and dtype."""

    def __init__(self, progress: Progress, summary: Tally):
        self.progress = progress
        self.summary = summary
        self.role: Role | None = None
        self.engine: Engine | None = None
        self.loads = 0

    def use(self, role: Role) -> Engine:
        """The engine for this role: the loaded one if it runs the same model, else a freshly loaded one."""
        if (
            self.engine is not None
            and self.role is not None
            and (self.role.path, self.role.label)
            == (
                role.path,
                role.label,
            )
        ):
            return self.engine
        self.close()
        self.progress.note(f"loading {role.label}")
        started = time.perf_counter()
        self.engine = role.build(role.path, role.engine_args, role.label)
        self.role = role
        self.loads += 1
        self.summary.engine_loaded(self.engine, self.summary.load_seconds + time.perf_counter() - started)
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            engine, self.engine, self.role = self.engine, None, None
            engine.close()
