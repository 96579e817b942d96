"""Judge–human agreement from `cai review agreement --json FILE`, folded into the report's figures.

The figures keep the names `cai review` gives them, so `--min agreement=0.7` means the same in both
commands. The file is checked before it is used: a figure that is not a number (or null where it
is undefined) or a malformed reliability bin stops the report with the reason (exit 2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.report.names import AGREEMENT_INTERVALS, AGREEMENT_NAMES

BIN_KEYS = ("low", "high", "count", "mean_p", "observed")


def load_agreement(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(figures under their names, reliability bins) from an agreement JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the agreement file ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: the agreement file is not JSON ({exc})") from None
    return checked_agreement(path, data)


def review_agreement(review: Path, labels: Sequence[Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The same figures computed from a review file and its labels, as `cai review agreement` does."""
    from cai.review.agreement import agreement_figures

    return checked_agreement(review, agreement_figures(review, labels))


def checked_agreement(path: Path, data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected the object `cai review agreement --json` writes")
    missing = [name for name in (*AGREEMENT_NAMES, *AGREEMENT_INTERVALS, "reliability") if name not in data]
    if missing:
        raise InputError(f"{path}: not a `cai review agreement --json` file: missing {', '.join(missing)}")
    figures: dict[str, Any] = {}
    for name in AGREEMENT_NAMES:
        figures[name] = _number(path, name, data[name])
    for name in AGREEMENT_INTERVALS:
        figures[name] = _interval(path, name, data[name])
    return figures, _bins(path, data["reliability"])


def _number(path: Path, name: str, value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{path}: {name}: expected a number or null, got {value!r}")
    return value


def _interval(path: Path, name: str, value: Any) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{path}: {name}: expected two numbers (low, high) or null, got {value!r}")
    low, high = (_number(path, name, item) for item in value)
    if low is None or high is None or low > high:
        raise InputError(f"{path}: {name}: expected two numbers (low, high) with low <= high, got {value!r}")
    return [float(low), float(high)]


def _bins(path: Path, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{path}: reliability: expected a list of bins, got {type(value).__name__}")
    bins = []
    for index, item in enumerate(value):
        where = f"reliability[{index}]"
        if not isinstance(item, dict) or any(key not in item for key in BIN_KEYS):
            raise InputError(f"{path}: {where}: expected an object with {', '.join(BIN_KEYS)}")
        row = {key: _number(path, f"{where}.{key}", item[key]) for key in BIN_KEYS}
        if row["low"] is None or row["high"] is None or row["count"] is None:
            raise InputError(f"{path}: {where}: low, high and count must be numbers")
        bins.append(row)
    return bins
