"""`cai constitution ...` and `cai model ...`: look at and prepare what a run is built from."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cai import constitution
from cai.console import guarded, stderr_console
from cai.engines import cpu, model

constitution_app = typer.Typer(
    help="List, show, validate and import constitutions; print their JSON Schema.", no_args_is_help=True
)
model_app = typer.Typer(help="The embedded default model (SmolLM2-135M-Instruct).", no_args_is_help=True)


@constitution_app.command("list")
def constitution_list() -> None:
    """Built-in constitutions, with their number of principles."""

    def show() -> None:
        table = Table("name", "principles", "few-shot", "description", box=None)
        for name, path in constitution.builtin_paths().items():
            loaded = constitution.load(str(path)).constitution
            table.add_row(name, str(len(loaded.principles)), str(len(loaded.few_shot)), loaded.description)
        typer.echo(_render(table), nl=False)

    guarded(show)


def _render(table: Table) -> str:
    console = Console(width=120)
    with console.capture() as captured:
        console.print(table)
    return captured.get()


@constitution_app.command("show")
def constitution_show(name: Annotated[str, typer.Argument(help="Built-in name or YAML file.")]) -> None:
    """Print a constitution's YAML (validated first)."""

    def show() -> None:
        loaded = constitution.load(name)
        sys.stdout.write(loaded.path.read_text(encoding="utf-8"))

    guarded(show)


@constitution_app.command("validate")
def constitution_validate(path: Annotated[Path, typer.Argument(help="Constitution YAML file.")]) -> None:
    """Check a constitution file; errors name the field path (principles[3].revision_request)."""

    def check() -> None:
        loaded = constitution.load(str(path))
        c = loaded.constitution
        typer.echo(f"{path}: valid ({c.name}: {len(c.principles)} principles, {len(c.few_shot)} few-shot examples)")

    guarded(check)


@constitution_app.command("import")
def constitution_import(
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="JSON files, or a folder of them: Anthropic's prompts/ files (CritiqueRevisionInstructions.json, "
            "CritiqueRevisionFewShotPrompts.json, RLMadisonInstructions.json) or a Hugging Face CAI recipe.",
            show_default=False,
        ),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="YAML file to write; - for stdout.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="anthropic or hf. Default: detected from each file's content.")
    ] = None,
    comparison: Annotated[
        str | None,
        typer.Option(help="The judge's question for every principle, when the sources have none (HF recipe)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Constitution name. Default: the output file's stem.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the -o file if it exists.")] = False,
) -> None:
    """Convert Anthropic's CAI paper prompts or Hugging Face's CAI recipe into a cai constitution.

    Wording is kept verbatim (prompt scaffolding removed); what could not be mapped is listed on stderr.
    """
    from cai.importers import import_constitution
    from cai.importers.assemble import describe

    imported = guarded(lambda: import_constitution(sources, output, fmt, comparison, name, force))
    err = stderr_console()
    for note in imported.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    rows = [("source", f"{part.path}: {describe(part)}") for part in imported.parts]
    rows += [
        ("principles", f"{len(imported.data['principles'])} → {output if output != '-' else 'stdout'}"),
        ("few-shot examples", str(len(imported.data.get("few_shot", ())))),
        ("comparison", imported.comparison_origin),
        ("not imported", f"{imported.not_imported} items, {len(imported.notes)} notes (above)"),
    ]
    width = max(len(key) for key, _ in rows)
    err.print("cai constitution import", markup=False, highlight=False)
    for key, value in rows:
        err.print(f"{key:<{width}}  {value}", markup=False, highlight=False, soft_wrap=True)


@constitution_app.command("schema")
def constitution_schema() -> None:
    """Print the JSON Schema of a constitution file (for editors; constitutions/constitution.schema.json)."""
    sys.stdout.write(constitution.json_schema_text())


@model_app.command("prepare")
def model_prepare() -> None:
    """Convert the embedded GGUF once into the cache; prints the model folder."""
    err = stderr_console()
    prepared = guarded(lambda: model.prepare(lambda message: err.print(f"cai: {message}")))
    typer.echo(str(prepared.folder))


@model_app.command("info")
def model_info() -> None:
    """Where the embedded model comes from, where it is cached, what it is, and the dtype it runs in here."""
    facts = guarded(model.info)
    machine = cpu.read_cpu()
    dtype, why = cpu.default_dtype(machine)
    facts["cpu"] = machine.describe()
    facts["cpu dtype"] = f"{dtype}: {why} (override: -E dtype=...)"
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        typer.echo(f"{key:<{width}}  {value}")


@model_app.command("serve")
def model_serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 to accept other machines.")] = "127.0.0.1",
    engine_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--engine-arg", "-E", help="Any `vllm serve` setting as KEY=VALUE, repeatable (-E max_num_seqs=32)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the vllm serve command instead of running it.")
    ] = False,
) -> None:
    """Serve the embedded model with `vllm serve` and cai's CPU defaults; runs until stopped (Ctrl-C).

    cai revise / score then use it with --server http://HOST:PORT, and write the same rows as in-process.
    """
    from cai.engines.args import parse_engine_args
    from cai.engines.launch import serve_command, serve_env, shown
    from cai.engines.model import resolve_model

    def command() -> list[str]:
        overrides = parse_engine_args(engine_arg or ())
        err = stderr_console()
        folder, label = resolve_model(None, lambda message: err.print(f"cai: {message}"))  # the in-process label
        return serve_command(folder, label, host, port, overrides)

    argv = guarded(command)
    if dry_run:
        typer.echo(shown(argv))
        return
    stderr_console().print(f"cai: {shown(argv)}")
    os.execve(argv[0], argv, serve_env())  # vLLM takes over this process: signals reach it directly
