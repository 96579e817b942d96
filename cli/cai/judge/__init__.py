"""The AI judge: pairwise preferences read from option log-probabilities, pointwise rubric scores.

`FORMAT_VERSION` names how verdicts are read (the prompt layout and the reading method). Every command
that writes verdicts records it in its manifest; a resume across two formats is refused, because one
file would then mix verdicts read two ways.
"""

from collections.abc import Mapping
from typing import Any

FORMAT_VERSION = 3  # 2: the next token's top-k read, shared text first; 3: the instruction in the shared text too
# `cai score` calls its judge's format "score_format" since its first version (its keys hash it, so it stays)
FORMAT_KEYS = ("judge_format", "score_format")


def recorded_format(parameters: Mapping[str, Any]) -> int | None:
    """The judge format a run's parameters record (top level, or in a nested `judge` object as eval has it)."""
    for name in FORMAT_KEYS:
        if name in parameters:
            return int(parameters[name])
    nested = parameters.get("judge")
    return recorded_format(nested) if isinstance(nested, Mapping) else None
