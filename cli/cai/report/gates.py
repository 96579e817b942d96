"""CI gates on the report's figures: `--max NAME=VALUE` / `--min NAME=VALUE`, repeatable.

A gate on a name the report does not know is a usage error (exit 2, the valid names listed); a
gate whose figure is undefined on this data (null) fails, because a CI gate that silently passes
when its figure could not be computed guards nothing. Failed gates raise `GateFailed` (exit 3,
the code `cai review`'s gates use).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cai.errors import GateFailed, InputError
from cai.report.names import GATE_NAMES


@dataclass(frozen=True)
class Gate:
    name: str
    bound: str  # "max" or "min"
    value: float

    def check(self, figures: Mapping[str, Any]) -> str | None:
        """The failure message, or None when the gate passes."""
        actual = figures.get(self.name)
        wanted = f"--{self.bound} {self.name}={self.value:g}"
        if actual is None:
            return f"{wanted}: undefined on this data"
        failed = actual > self.value if self.bound == "max" else actual < self.value
        return f"{wanted}: {self.name} is {actual:.4g}" if failed else None


def parse_gates(maxima: Sequence[str], minima: Sequence[str]) -> list[Gate]:
    gates = [_parse(text, "max") for text in maxima] + [_parse(text, "min") for text in minima]
    unknown = sorted({g.name for g in gates} - set(GATE_NAMES))
    if unknown:
        raise InputError(f"unknown figure {', '.join(unknown)} in a gate; figures: {', '.join(GATE_NAMES)}")
    return gates


def _parse(text: str, bound: str) -> Gate:
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not name.strip() or not math.isfinite(number):
        raise InputError(f"--{bound} {text}: expected NAME=VALUE with a number, e.g. --{bound} length_bias=0.7")
    return Gate(name.strip(), bound, number)


def check_gates(gates: Sequence[Gate], figures: Mapping[str, Any]) -> None:
    failures = [message for gate in gates if (message := gate.check(figures)) is not None]
    if failures:
        raise GateFailed(f"{len(failures)} of {len(gates)} gates failed:\n  " + "\n  ".join(failures))
