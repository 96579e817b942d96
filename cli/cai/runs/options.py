"""The option groups every model-running command composes: output and resume, row limits, engine, sampling.

Each group is a frozen dataclass the core takes as it is; its fields are the command-line options
(cai.options), so an option is declared once however many commands have it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from cai.constitution import SamplingDefaults
from cai.io.records import MAX_ROW_BYTES
from cai.options import option
from cai.runs.ledger import OutputPaths


@dataclass(frozen=True)
class OutputOptions:
    """Where rows go, and whether an existing output is resumed."""

    output: str | None = option(
        None, "--output", "-o", help="Write rows here (JSONL; folders are created); default or - is stdout."
    )
    rejects: str | None = option(None, help="Quarantine file for rows that give no output. Default: OUT.rejects.jsonl.")
    overwrite: bool = option(False, "--overwrite", help="Start OUT afresh instead of resuming it.")


@dataclass(frozen=True)
class RowLimits:
    """How much bad input a run tolerates before it stops, and how long a row may be."""

    max_bad_rows: int = option(
        10, min=0, help="More bad input rows than this stops the run (exit 2) before any model work."
    )
    max_row_bytes: int = option(MAX_ROW_BYTES, min=1, help="Input rows longer than this are quarantined.")


@dataclass(frozen=True)
class EngineOptions:
    """What the run generates on: an engine in this process, or vLLM servers."""

    engine_args: tuple[str, ...] = option(
        (),
        "--engine-arg",
        "-E",
        help="Any vLLM engine argument as KEY=VALUE, repeatable (e.g. -E max_num_seqs=32 -E dtype=float32).",
    )
    servers: tuple[str, ...] = option(
        (),
        "--server",
        help="A vLLM server (http://HOST:PORT, from vllm serve or cai model serve) to run on instead of "
        "in-process; repeatable. Also: --servers-file, or the CAI_SERVERS environment variable.",
    )
    servers_file: str | None = option(None, "--servers-file", help="A file of server URLs, one per line (# comments).")
    server_concurrency: int = option(
        64,
        min=1,
        help="With --server: requests in flight per server (match its max_num_seqs); with --ray, per replica.",
    )
    ray: str | None = option(
        None,
        "--ray",
        help="Run the engines as replicas on a Ray cluster, which places them and restarts one whose node dies: "
        "HOST:PORT of a running cluster, auto (one running on this machine) or local (start one for this run). "
        "Also: CAI_RAY_ADDRESS. Needs pip install 'cai[ray]'. docs/scale.md.",
    )
    replicas: int | None = option(None, "--replicas", min=1, help="With --ray: engines to run. Default 1.")
    replica_cpus: float | None = option(
        None, "--replica-cpus", min=0.0, help="With --ray: CPUs each replica reserves. Default 1."
    )
    replica_gpus: float | None = option(
        None, "--replica-gpus", min=0.0, help="With --ray: GPUs each replica reserves. Default 0."
    )
    engine: str | None = option(
        None,
        "--engine",
        envvar="CAI_ENGINE",
        help="The in-process engine: vllm (the default), or one a plugin registered (entry points `cai.engines`).",
    )


@dataclass(frozen=True)
class SamplingOptions:
    """How generations are sampled; None takes the constitution's default."""

    max_tokens: int | None = option(None, min=1, help="New tokens per generation. Default: the constitution's.")
    temperature: float | None = option(
        None, min=0.0, max=2.0, help="Sampling temperature. Default: the constitution's."
    )
    top_p: float | None = option(None, min=0.01, max=1.0, help="Nucleus sampling mass. Default: the constitution's.")
    seed: int = option(0, help="Seeds principle sampling and generation (with the row's key).")

    def resolved(self, defaults: SamplingDefaults) -> tuple[int, float, float]:
        """(max_tokens, temperature, top_p) with the constitution's defaults filled in."""
        return (
            self.max_tokens if self.max_tokens is not None else defaults.max_tokens,
            self.temperature if self.temperature is not None else defaults.temperature,
            self.top_p if self.top_p is not None else defaults.top_p,
        )


DEFAULT_INTERVAL = 30.0  # seconds between progress lines in a log


@dataclass(frozen=True)
class Display:
    """What the run shows on stderr."""

    quiet: bool = option(False, "--quiet", "-q", help="No progress or summary on stderr.")
    progress_interval: float = option(
        DEFAULT_INTERVAL,
        min=1.0,
        help="With stderr not a terminal (a log, CI): seconds between progress lines.",
    )
    debug: bool = option(False, "--debug", help="Show tracebacks for errors.")


class Job:
    """A command's job dataclass, made from flat keywords as the command line gives them."""

    command: ClassVar[str] = ""  # names a stdout run's rejects file: cai-COMMAND.rejects.jsonl

    @classmethod
    def of(cls, *args: Any, **values: Any) -> Self:
        """`ReviseJob.of("prompts.jsonl", "out.jsonl", model=..., rounds=2, max_tokens=64)`: positional are the
        input and the output; every other keyword is a field of the job or of one of its option groups."""
        assert dataclasses.is_dataclass(cls)
        names = [item.name for item in dataclasses.fields(cls)]
        source = next(item.name for item in dataclasses.fields(cls) if not item.kw_only)
        values.update(zip((source, "output"), args, strict=False))
        types = typing.get_type_hints(cls)
        built: dict[str, Any] = {}
        for name in names:
            group = types[name]
            if dataclasses.is_dataclass(group) and isinstance(group, type):
                given = {item.name: values.pop(item.name) for item in dataclasses.fields(group) if item.name in values}
                if name in values and not given:
                    built[name] = values.pop(name)
                else:
                    built[name] = group(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
            elif name in values:
                built[name] = values.pop(name)
        if values:
            raise TypeError(f"{cls.__name__}.of: unknown options {', '.join(sorted(values))}")
        return cls(**built)


@dataclass(frozen=True, kw_only=True)
class RunJob(Job):
    """What every model-running command's job holds besides its own: where rows go, the constitution, the
    engine and the input limits. A command's job adds its input (the first, positional field) and the rest.

    Every job is also its command's option group (cai.runs.cli.command): revise, sample and score take their own
    job, which inherits these options; eval takes a `RunJob` and builds its job with `shared()`."""

    output: OutputOptions = field(default_factory=OutputOptions)
    constitution: str = option(
        "harmless", "--constitution", "-c", help="Built-in name (see `cai constitution list`) or a YAML file."
    )
    engine: EngineOptions = field(default_factory=EngineOptions)
    limits: RowLimits = field(default_factory=RowLimits)

    @property
    def paths(self) -> OutputPaths:
        return OutputPaths.for_output(self.output.output, self.output.rejects, command=self.command)

    def shared(self) -> dict[str, Any]:
        """These shared options as keywords: `EvalJob(prompts, a, b, judging, **run.shared())`."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(type(self))}


@dataclass(frozen=True, kw_only=True)
class ModelJob(RunJob):
    """A job that runs one model (revise, sample, score; eval runs two)."""

    model: str | None = option(
        None,
        "--model",
        "-m",
        help="Local model folder or a model name vLLM can load (with --server: the served model's name). "
        "Default: embedded SmolLM2 (with --server: the one model the servers serve).",
    )
