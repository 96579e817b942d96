"""P(option A) from log-probabilities, two ways.

The fast way reads ONE generated token after the answer prefix "... is (": its top-k log-probs hold
both option letters, and the request reads vLLM's prefix cache like any generation. The fallback,
used only when a letter is missing from the top k, scores the two continuations "...(A" and "...(B"
with prompt log-probs; vLLM skips the prefix cache for such requests and computes logits for every
prompt token, so it costs a full prefill each time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cai.engines.protocol import Generation
from cai.errors import EngineError

NEXT_TOKEN = "next_token"
CONTINUATION = "continuation"
TOP_LOGPROBS = 20  # vLLM's default max_logprobs: the most a request may ask for without an engine argument


def next_token_probability(generation: Generation, letters: tuple[str, str]) -> float | None:
    """P(first letter) against the second from the first generated token's top-k, or None if one is missing.

    Every top-k token that reads as the letter (after stripping spaces) counts for it, so "A" and " A"
    are one option however the tokenizer writes it.
    """
    if not generation.logprobs:
        return None
    top = generation.logprobs[0]
    mass = [sum(math.exp(value) for token, value in top.items() if token.strip() == letter) for letter in letters]
    if not all(mass):
        return None
    return mass[0] / (mass[0] + mass[1])


def continuation_probability(option_a: Generation, option_b: Generation) -> float:
    """P(A) from two scored continuations that differ only in the option tokens at the end.

    Summing every token after the shared prefix makes it independent of how "(A" is split.
    """
    shared = _shared_prefix(option_a.prompt_token_ids, option_b.prompt_token_ids)
    log_a, log_b = _tail_logprob(option_a, shared), _tail_logprob(option_b, shared)
    return 1 / (1 + math.exp(log_b - log_a))


def _shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    shared = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        shared += 1
    return shared


def _tail_logprob(generation: Generation, start: int) -> float:
    values = (generation.prompt_logprobs or ())[start:]
    if not values or any(v is None for v in values):
        raise EngineError("the engine returned no prompt log-probs for the option tokens")
    return sum(v for v in values if v is not None)
