"""The model's tokenizer alone (no weights, no engine), counting prompts as the engine's check does."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cai.engines.protocol import Message
from cai.errors import InputError


class HFTokenCounter:
    """transformers' AutoTokenizer on the model folder: the chat template applied, then encoded."""

    def __init__(self, model_path: str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model_path)
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else repr(exc)
            raise InputError(f"--model {model_path}: its tokenizer cannot be loaded ({first})") from None
        self.label = f"AutoTokenizer ({Path(model_path).name})"

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """As VLLMEngine.prompt_tokens: the templated text with the generation prompt, no special tokens added."""
        text = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
        return len(self.tokenizer.encode(text, add_special_tokens=False))


def load_tokenizer(model_path: str) -> HFTokenCounter:
    return HFTokenCounter(model_path)
