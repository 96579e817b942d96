"""`cai constitution import`: other projects' constitutions as cai constitution YAML.

Sources: Anthropic's Constitutional AI paper prompts (anthropic.py) and Hugging Face's CAI recipe (hf.py).
sources.py reads JSON with path-naming errors, assemble.py builds one constitution from the files,
writer.py renders and checks the YAML.
"""

from __future__ import annotations

import re
from pathlib import Path

from cai.errors import InputError
from cai.importers.assemble import FORMATS, Imported, assemble
from cai.importers.writer import check_target, render, write

__all__ = ["FORMATS", "Imported", "import_constitution"]
_NOT_ID = re.compile(r"[^a-z0-9_-]+")


def import_constitution(
    sources: list[Path], output: str, fmt: str | None, comparison: str | None, name: str | None, force: bool
) -> Imported:
    """Read, map, render, check with the loader, write (or print, for -o -); the caller shows the notes."""
    target = check_target(output, force)
    imported = assemble(sources, fmt, comparison, name or default_name(target))
    try:
        text = render(imported, target)
    except InputError as exc:
        raise InputError(f"the imported constitution would not load, so nothing was written: {exc}") from None
    write(text, target)
    return imported


def default_name(target: Path | None) -> str:
    """The output file's stem as a constitution name (what `cai revise` records), else "imported"."""
    stem = _NOT_ID.sub("-", target.stem.lower()).strip("-_")[:64] if target is not None else ""
    return stem or "imported"
