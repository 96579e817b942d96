"""Checks made before the model loads, shared by `cai revise` and `cai score`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cai import model
from cai.errors import InputError
from cai.ledger import OutputPaths
from cai.records import Scan

if TYPE_CHECKING:
    from cai.engines import Engine
    from cai.engines.ray import RayOptions

EngineFactory = Callable[[str, Mapping[str, str], str], "Engine"]


def resolve_engine(
    model_name: str | None,
    servers: Sequence[str],
    servers_file: str | None,
    engine_args: Mapping[str, str],
    note: Callable[[str], None],
    factory: EngineFactory,
    concurrency: int = 64,
    ray: RayOptions | None = None,
) -> tuple[str, str, EngineFactory]:
    """(model path, row label, engine factory): in-process vLLM, replicas on a Ray cluster (cai.engines.ray),
    or the servers given (checked here, exit 2)."""
    from cai.engines.probe import check_servers, server_urls  # httpx loads only for runs on servers
    from cai.engines.ray import ray_engine_factory  # Ray itself loads only when the replicas start

    urls = server_urls(servers, servers_file)
    cluster = ray.resolved() if ray is not None else None
    if cluster is not None:
        if urls:
            raise InputError(
                "--ray and --server (or --servers-file, CAI_SERVERS) cannot be combined: on --ray cai starts and "
                "owns its engines, --server uses engines started by hand; give one of them"
            )
        path, label = resolve_model(model_name, note)
        return path, label, ray_engine_factory(cluster, factory, model_name is None, concurrency, note)
    if not urls:
        path, label = resolve_model(model_name, note)
        return path, label, factory
    if engine_args:
        raise InputError(
            f"-E/--engine-arg {next(iter(engine_args))}: with --server the engine settings belong to the servers "
            "(give them to vllm serve, or to cai model serve -E)"
        )
    fleet = check_servers(urls, model_name)
    note(f"{len(urls)} server(s) ready, vLLM {', '.join(sorted(set(fleet.versions)))}, serving {fleet.model}")

    def connect(path: str, args: Mapping[str, str], label: str) -> Engine:
        from dataclasses import replace

        from cai.engines import server

        settings = replace(server.DEFAULT_SETTINGS, concurrency=concurrency)
        return server.ServerEngine(fleet.urls, fleet.model, fleet.max_model_len, settings, note)

    return ",".join(fleet.urls), fleet.model, connect


def resolve_model(requested: str | None, note: Callable[[str], None]) -> tuple[str, str]:
    """(what vLLM loads, the label written on every row). No model given means the embedded one."""
    if requested is None:
        embedded = model.prepare(note)
        return str(embedded.folder), f"{model.MODEL_LABEL}@{embedded.gguf_sha256[:12]}"
    path = Path(requested).expanduser()
    if not path.exists() and requested.startswith(("/", ".", "~")):
        raise InputError(f"--model {requested}: no such folder; give a model folder or a model name")
    if path.exists() and not (path / "config.json").is_file():
        raise InputError(f"--model {requested}: folder has no config.json; point at a Hugging Face model folder")
    if path.exists():
        return str(path), str(path)
    check_cached_offline(requested)
    return requested, requested


def check_cached_offline(name: str) -> None:
    """With HF_HUB_OFFLINE set, a model name missing from the cache can only fail: say so before vLLM loads.

    Online, the name is left to vLLM, which may download it.
    """
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    if not constants.HF_HUB_OFFLINE:
        return
    try:
        found = try_to_load_from_cache(name, "config.json")
    except HFValidationError:
        raise InputError(
            f"--model {name}: no such folder, and not a model name ('org/model' or 'model'); "
            "give a model folder or a model name"
        ) from None
    if not isinstance(found, str):
        raise InputError(
            f"could not load model {name!r}: it is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            "and HF_HUB_OFFLINE is set. --model takes a local model folder, or a model name already in the "
            "Hugging Face cache; omit it to use the embedded SmolLM2-135M-Instruct."
        )


def check_paths(source: str, paths: OutputPaths) -> None:
    written = [p for p in (paths.output, paths.rejects, paths.manifest) if p is not None]
    if source != "-" and any(p.resolve() == Path(source).resolve() for p in written):
        raise InputError(f"the output files would overwrite the input {source}; choose another -o")
    for path in written:
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file path such as {path}/pairs.jsonl")


def check_bad_rows(scanned: Scan[Any], limit: int) -> None:
    problem = bad_rows_problem(scanned, limit)
    if problem is not None:
        raise InputError(problem)


def bad_rows_problem(scanned: Scan[Any], limit: int) -> str | None:
    """What to tell the user when the input has more bad rows than --max-bad-rows allows, else None."""
    if len(scanned.rejects) <= limit:
        return None
    shown = "\n".join(f"{scanned.label}:{r.line}: {r.reason}: {r.detail}" for r in scanned.rejects[:10])
    return (
        f"{len(scanned.rejects)} of {scanned.lines} rows in {scanned.label} are bad (limit --max-bad-rows {limit}); "
        f"nothing was generated. First ones:\n{shown}"
    )
