"""`--engine-arg KEY=VALUE` options, typed by vLLM's own EngineArgs fields.

Kept apart from the engine so options are checked (and mistakes named) without loading a model.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cai.errors import InputError


def parse_engine_args(pairs: Sequence[str]) -> dict[str, str]:
    """--engine-arg KEY=VALUE strings as a dict; values are typed later against vLLM's fields."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--engine-arg {pair!r}: expected KEY=VALUE, e.g. --engine-arg max_num_seqs=64")
        parsed[key.strip().replace("-", "_")] = value.strip()
    return parsed


def coerce_engine_args(raw: Mapping[str, str], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Type each value by vLLM's own EngineArgs field; an unknown key is an error that lists near names."""
    typed: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3, cutoff=0.6)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise InputError(f"--engine-arg {key}: not a vLLM engine argument{hint}")
        annotation = fields[key]
        typed[key] = _coerce(key, value, annotation.__name__ if isinstance(annotation, type) else str(annotation))
    return typed


def _coerce(key: str, value: str, annotation: str) -> Any:
    lowered = value.lower()
    if lowered in {"none", "null"} and "None" in annotation:
        return None
    if annotation.startswith("bool"):
        if lowered in {"true", "1", "yes", "on"}:
            return True
        if lowered in {"false", "0", "no", "off"}:
            return False
        raise InputError(f"--engine-arg {key}={value}: expected true or false")
    for kind, cast in (("int", int), ("float", float)):
        if annotation.startswith(kind):
            try:
                return cast(value)
            except ValueError:
                raise InputError(f"--engine-arg {key}={value}: expected {kind}") from None
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"--engine-arg {key}={value}: not valid JSON") from None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
