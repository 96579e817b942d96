"""Fields of a settings dataclass that are also command-line options: declared once, where the setting lives.

A group of settings (the output and resume, the engine, the sampling, a judge's settings) is one frozen
dataclass that the core takes as it is. Its fields carry their flags and help as metadata, so the
command line is built from the same declaration (cai.runs.cli) — as TRL's `DPOConfig` fields are
its parser's options. Nothing here imports the CLI library, so core code stays free of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Flag:
    """How a field appears on the command line: its flags, help text and limits (min, max, envvar)."""

    flags: tuple[str, ...]
    help: str
    limits: dict[str, Any]


@dataclass(frozen=True)
class Suffix:
    """`Annotated[Group, Suffix("a")]`: the group's options once more, as `--field-a` (its help's {side} is "A")."""

    name: str


def option(default: Any, *flags: str, help: str, **limits: Any) -> Any:
    """A dataclass field that is also the option `flags` (none: `--field-name`), with `help` and limits."""
    return field(default=default, metadata={"cli": Flag(flags, help, limits)})


@dataclass(frozen=True)
class Positional:
    """How a field appears on the command line as a positional argument: its help."""

    help: str


def argument(help: str) -> Any:
    """A dataclass field without a default that is also a positional argument, with `help`."""
    return field(metadata={"cli": Positional(help)})


def positional_of(metadata: Any) -> Positional | None:
    found = metadata.get("cli")
    return found if isinstance(found, Positional) else None


def flag_of(metadata: Any) -> Flag | None:
    found = metadata.get("cli")
    return found if isinstance(found, Flag) else None
