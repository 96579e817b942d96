"""The rows `cai revise` writes, in each `--format`: one run, one file, one shape.

- `trl` (default): TRL's conversational preference row (prompt / chosen / rejected) for DPOTrainer.
- `sft`: the SL-CAI step, the conversation with the final revision as its assistant turn
  (`messages`), which TRL's SFTTrainer reads unchanged.
- `hf-cai`: the columns of Hugging Face's CAI datasets (HuggingFaceH4/cai-conversation-harmless, made
  by llm-swarm's examples/constitutional-ai): one critique and one revision per row, so with several
  rounds critic_* / revision_* are the last round's, the one that produced the final revision.

Every shape carries the same `cai` provenance object (key, constitution hash, model, every round, the
judge's verdict with --judge), which TRL ignores; the resume ledger reads its `key`, so resuming works
the same whatever the format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Message = dict[str, str]
OutputFormat = Literal["trl", "sft", "hf-cai"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("trl", "sft", "hf-cai")


@dataclass(frozen=True)
class Provenance:
    """Run-wide facts stamped on every row."""

    constitution_name: str
    constitution_sha256: str
    model: str
    seed: int
    mode: str


@dataclass(frozen=True)
class Revised:
    """One finished record as its rows need it; `last_requests` are the last round's principle's
    critique and revision requests (hf-cai's critic_prompt / revision_prompt)."""

    key: str
    id: str | None
    line: int
    conversation: tuple[Message, ...]
    initial: str
    initial_source: str
    initial_finish_reason: str
    final: str
    rounds: tuple[dict[str, Any], ...]
    last_requests: tuple[str, str]
    judge: dict[str, Any] | None = None


RowMaker = Callable[[Revised, Provenance], dict[str, Any]]


def shape_of(row: dict[str, Any]) -> OutputFormat | None:
    """Which `--format` a row is, by its columns (cai score's rows are trl rows plus `scores`), or None."""
    if "init_prompt" in row and "messages" in row:
        return "hf-cai"
    if {"prompt", "chosen", "rejected"} <= row.keys():
        return "trl"
    if "messages" in row and "chosen" not in row:
        return "sft"
    return None


def prompt_of(row: dict[str, Any], shape: OutputFormat) -> Any:
    """The conversation before the answer, in any format: rows with the same one share a split."""
    return row["prompt"] if shape == "trl" else row["messages"][:-1]


def key_of(row: dict[str, Any]) -> str:
    """The key a revise row carries, in every format: what a resumed run reads back."""
    return str(row["cai"]["key"])


def provenance_object(record: Revised, provenance: Provenance) -> dict[str, Any]:
    """The `cai` object of every row format."""
    return {
        "key": record.key,
        "id": record.id,
        "line": record.line,
        "constitution": {"name": provenance.constitution_name, "sha256": provenance.constitution_sha256},
        "model": provenance.model,
        "mode": provenance.mode,
        "initial": {"source": record.initial_source, "finish_reason": record.initial_finish_reason},
        "rounds": list(record.rounds),
        **({"judge": record.judge} if record.judge is not None else {}),
        "seed": provenance.seed,
    }


def trl_row(record: Revised, provenance: Provenance) -> dict[str, Any]:
    """--format trl (the default): what TRL's DPOTrainer reads."""
    return {
        "prompt": list(record.conversation),
        "chosen": [{"role": "assistant", "content": record.final}],
        "rejected": [{"role": "assistant", "content": record.initial}],
        "cai": provenance_object(record, provenance),
    }


def sft_row(record: Revised, provenance: Provenance) -> dict[str, Any]:
    """The final revision as the assistant's answer: supervised fine-tuning data (SL-CAI)."""
    return {"messages": _with_answer(record, record.final), "cai": provenance_object(record, provenance)}


def hf_cai_row(record: Revised, provenance: Provenance) -> dict[str, Any]:
    """The H4 CAI columns. Their chosen/rejected hold the whole conversation, not TRL's prompt split.

    init_prompt and prompt are the last user turn (H4's rows are single-turn); messages, chosen and
    rejected keep every turn of a multi-turn input. --no-critique leaves critic_prompt/critic_response null.
    """
    user = record.conversation[-1]["content"]
    last = record.rounds[-1]
    critiqued = last["critique"] is not None
    critique_request, revision_request = record.last_requests
    return {
        "init_prompt": user,
        "init_response": record.initial,
        "critic_prompt": critique_request if critiqued else None,
        "critic_response": last["critique"],
        "revision_prompt": revision_request,
        "revision_response": last["revision"],
        "prompt": user,
        "messages": _with_answer(record, record.final),
        "chosen": _with_answer(record, record.final),
        "rejected": _with_answer(record, record.initial),
        "cai": provenance_object(record, provenance),
    }


def row_maker(output_format: OutputFormat) -> RowMaker:
    makers: dict[OutputFormat, RowMaker] = {"trl": trl_row, "sft": sft_row, "hf-cai": hf_cai_row}
    return makers[output_format]


def _with_answer(record: Revised, answer: str) -> list[Message]:
    return [*record.conversation, {"role": "assistant", "content": answer}]
