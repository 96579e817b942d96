"""The imported constitution as YAML a person reads and edits: block scalars, one blank line between entries,
a header saying where it came from, and the modeline that lets an editor validate it against the schema.

What is written is first parsed back by cai's own constitution loader, so a file that `cai revise` would
refuse is never written.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from cai import constitution
from cai.errors import InputError
from cai.importers.assemble import Imported, describe

WIDTH = 100
LONG = 80  # single-line strings longer than this are folded (>-), multi-line ones kept literal (|-)


class _Dumper(yaml.SafeDumper):
    """Indented sequences (``  - id: ...``), as in the shipped constitutions."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _round_trips(value: str, style: str) -> bool:
    return bool(yaml.safe_load(yaml.safe_dump(value, default_style=style, allow_unicode=True, width=WIDTH)) == value)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else (">" if len(value) > LONG else None)
    if style is not None and not _round_trips(value, style):
        style = None  # e.g. trailing spaces: PyYAML quotes the string instead, still verbatim
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=WIDTH)


def render(imported: Imported, target: Path | None) -> str:
    """Header, then name and description, then each list with a blank line between its entries."""
    chunks = ["\n".join(header(imported, target)), _dump({k: imported.data[k] for k in ("name", "description")})]
    for key in ("principles", "few_shot"):
        if key in imported.data:
            items = [textwrap.indent(_dump([item]), "  ") for item in imported.data[key]]
            chunks.append(f"{key}:\n" + "\n".join(items))
    text = "\n".join(chunks)
    if yaml.safe_load(text) != imported.data:
        raise AssertionError("the YAML does not read back as the imported data")  # a bug, never bad input
    constitution.parse(text.encode("utf-8"), target or Path("<stdout>"))
    return text


def header(imported: Imported, target: Path | None) -> list[str]:
    lines = [f"{constitution.SCHEMA_MODELINE}{ref}"] if (ref := schema_ref(target)) else []
    lines.append("# Imported by `cai constitution import` from:")
    lines += [f"#   {part.path}: {describe(part)}" for part in imported.parts]
    if any(part.label.startswith("Anthropic") for part in imported.parts):
        lines.append("# Wording verbatim; only the prompt scaffolding (CritiqueRequest:, Critique:, RevisionRequest:,")
        lines.append("# Revision:, Human:, Assistant:, Options:) is removed.")
    else:
        lines.append("# Wording verbatim.")
    lines.append(f"# comparison: {imported.comparison_origin}.")
    if imported.not_imported or imported.notes:
        lines.append(f"# {len(imported.notes)} notes on what was not imported or was changed: see the import's stderr.")
    return [*lines, ""]


def schema_ref(target: Path | None) -> str | None:
    """The committed schema, relative to the file's folder (the current folder for stdout)."""
    schema = constitution.schema_path()
    if schema is None:
        return None
    start = target.resolve().parent if target is not None else Path.cwd()
    return Path(os.path.relpath(schema.resolve(), start)).as_posix()


def check_target(output: str, force: bool) -> Path | None:
    """Before any reading: the -o file, or None for stdout; an existing file needs --force."""
    if output == "-":
        return None
    path = Path(output)
    if path.is_dir():
        raise InputError(f"-o {path}: is a folder; give a file name such as {path / 'imported.yaml'}")
    if path.exists() and not force:
        raise InputError(f"-o {path}: the file exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise InputError(f"-o {path}: the folder {path.parent} does not exist")
    return path


def write(text: str, target: Path | None) -> None:
    if target is None:
        sys.stdout.write(text)
        return
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)  # a reader never sees half a file
