"""Reading the JSON files an import starts from, with errors that name the file and the JSON path.

Every importer reads through these helpers, so a wrong shape always reads the same way:
``prompts/x.json: $.harmful3.edit_request: expected a string, got a list``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cai.errors import InputError

MAX_SOURCE_BYTES = 20_000_000
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def child(where: str, key: str | int) -> str:
    """The JSON path of a member: ``$.harmful0.prompt[0]``, ``$["odd key"]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if _PLAIN_KEY.match(key) else f"{where}[{json.dumps(key)}]"


@dataclass
class Notes:
    """What the import could not map, or mapped with a decision the user should know about."""

    lines: list[str] = field(default_factory=list)

    def add(self, file: Path, where: str, message: str) -> None:
        self.lines.append(f"{file}: {where}: {message}")


@dataclass(frozen=True)
class Source:
    """One JSON file and its parsed content; `bad` builds the error for a place in it."""

    path: Path
    data: Any

    def bad(self, where: str, message: str) -> InputError:
        return InputError(f"{self.path}: {where}: {message}")

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.bad(where, f"expected a string, got {kind(value)}")
        if not value.strip():
            raise self.bad(where, "is empty")
        return value

    def array(self, value: Any, where: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.bad(where, f"expected a list of {what}, got {kind(value)}")
        if not value:
            raise self.bad(where, f"is an empty list; expected {what}")
        return value

    def strings(self, what: str) -> Iterator[tuple[str, str]]:
        """(where, text) of each string of a file that is one list of strings (`what` names them)."""
        for index, item in enumerate(self.array(self.data, "$", what)):
            where = child("$", index)
            yield where, self.string(item, where)

    def mapping(self, value: Any, where: str, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.bad(where, f"expected {what}, got {kind(value)}")
        return value

    def member(self, value: dict[str, Any], key: str, where: str, what: str) -> Any:
        if key not in value:
            raise self.bad(child(where, key), f"missing ({what})")
        return value[key]


def kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def read(path: Path) -> Source:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    raw = path.read_bytes()
    if len(raw) > MAX_SOURCE_BYTES:
        raise InputError(f"{path}: {len(raw)} bytes; the limit for an import source is {MAX_SOURCE_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return Source(path, json.loads(text))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the *.json files in it (Anthropic's prompts/ folder)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise InputError(f"{path}: the folder has no .json file to import")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in files))
    if len(unique) < len(files):
        raise InputError("the same file is given twice; pass each source once")
    return files
