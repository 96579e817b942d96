"""The row shapes `cai revise --format` writes: one run, one file, one shape.

- `trl` (default): TRL's conversational preference row (prompt / chosen / rejected) for DPOTrainer.
- `sft`: the SL-CAI step, the conversation with the final revision as its assistant turn
  (`messages`), which TRL's SFTTrainer reads unchanged.
- `hf-cai`: the columns of Hugging Face's CAI datasets (HuggingFaceH4/cai-conversation-harmless, made
  by llm-swarm's examples/constitutional-ai): one critique and one revision per row, so with several
  rounds critic_* / revision_* are the last round's, the one that produced the final revision.

Every shape carries the same `cai` provenance object (all rounds, the judge's verdict with --judge);
the resume ledger reads its `key`, so resuming works the same whatever the format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from cai.io.output import Provenance, preference_row, provenance_object
from cai.revise.rounds import Revision

OutputFormat = Literal["trl", "sft", "hf-cai"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("trl", "sft", "hf-cai")
RowMaker = Callable[[Revision, Provenance], dict[str, Any]]


def sft_row(state: Revision, provenance: Provenance) -> dict[str, Any]:
    """The final revision as the assistant's answer: supervised fine-tuning data (SL-CAI)."""
    return {"messages": _with_answer(state, state.current), "cai": provenance_object(state, provenance)}


def hf_cai_row(state: Revision, provenance: Provenance) -> dict[str, Any]:
    """The H4 CAI columns. Their chosen/rejected hold the whole conversation, not TRL's prompt split.

    init_prompt and prompt are the last user turn (H4's rows are single-turn); messages, chosen and
    rejected keep every turn of a multi-turn input. --no-critique leaves critic_prompt/critic_response null.
    """
    conversation = state.record.row.conversation()
    last = state.rounds[-1]
    principle = state.principles[len(state.rounds) - 1]
    user = conversation[-1]["content"]
    critiqued = last.critique is not None
    return {
        "init_prompt": user,
        "init_response": state.initial,
        "critic_prompt": principle.critique_request if critiqued else None,
        "critic_response": last.critique,
        "revision_prompt": principle.revision_request,
        "revision_response": last.revision,
        "prompt": user,
        "messages": _with_answer(state, state.current),
        "chosen": _with_answer(state, state.current),
        "rejected": _with_answer(state, state.initial),
        "cai": provenance_object(state, provenance),
    }


def row_maker(output_format: OutputFormat) -> RowMaker:
    makers: dict[OutputFormat, RowMaker] = {"trl": preference_row, "sft": sft_row, "hf-cai": hf_cai_row}
    return makers[output_format]


def _with_answer(state: Revision, answer: str) -> list[dict[str, str]]:
    return [*state.record.row.conversation(), {"role": "assistant", "content": answer}]
