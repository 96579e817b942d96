"""The rows `cai sample` writes: one prompt, its N candidates as `responses`, and the `cai` provenance object.

    {"id": "p1",                                         # when the input row has one
     "prompt": [{"role": "user", "content": "..."}],     # the conversation, without any --framing system turn
     "responses": ["first candidate", "second", ...],   # what `cai score` reads as a ranked row
     "cai": {"key", "id", "line", "model", "constitution": {"name", "sha256"}, "framing",
             "sampling": {"n", "max_tokens", "temperature", "top_p", "seed"},
             "seeds": [...], "finish_reasons": ["stop", "length", ...], "output_tokens": [...],
             "identical_to": [null, null, 0, null], "distinct": 3}}

The prompt is always written as chat turns: the candidates were generated under the chat template, so
TRL applies it again when it trains on them (conversational rows). `identical_to[i]` names the first
earlier candidate that candidate i equals once normalised (cai.sample.flows.identical_to), or null: such a
pair teaches nothing. The resume ledger reads `cai.key`, as for revise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Message = dict[str, str]
FRAMINGS: tuple[str, ...] = ("none", "constitution")


@dataclass(frozen=True)
class Candidate:
    """One sampled response and how its generation ended."""

    text: str
    finish_reason: str
    output_tokens: int
    seed: int


@dataclass(frozen=True)
class SampleStamp:
    """Run-wide facts stamped on every row."""

    model: str
    constitution_name: str
    constitution_sha256: str
    framing: str
    sampling: dict[str, Any]


def sampled_row(
    key: str,
    line: int,
    row_id: str | int | None,
    conversation: Sequence[Message],
    candidates: Sequence[Candidate],
    same: Sequence[int | None],
    stamp: SampleStamp,
) -> dict[str, Any]:
    """One prompt's output row (see the module docstring); `same` are the candidates' identical_to."""
    texts = [candidate.text for candidate in candidates]
    provenance = {
        "key": key,
        "id": row_id,
        "line": line,
        "model": stamp.model,
        "constitution": {"name": stamp.constitution_name, "sha256": stamp.constitution_sha256},
        "framing": stamp.framing,
        "sampling": stamp.sampling,
        "seeds": [candidate.seed for candidate in candidates],
        "finish_reasons": [candidate.finish_reason for candidate in candidates],
        "output_tokens": [candidate.output_tokens for candidate in candidates],
        "identical_to": list(same),
        "distinct": sum(index is None for index in same),
    }
    head = {} if row_id is None else {"id": row_id}
    return {**head, "prompt": [dict(turn) for turn in conversation], "responses": texts, "cai": provenance}


def key_of(row: dict[str, Any]) -> str:
    """The key a sample row carries: what a resumed run reads back."""
    return str(row["cai"]["key"])


def is_sampled(provenance: Any) -> bool:
    """Whether a row's `cai` object is one `cai sample` wrote (it carries per-candidate finish reasons)."""
    return isinstance(provenance, dict) and isinstance(provenance.get("finish_reasons"), list)
