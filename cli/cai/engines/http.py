"""The wire format: a cai Request as a vLLM `/v1/chat/completions` body, and its reply as a Generation.

Field names are the ones vLLM 0.32's OpenAI server reads (vllm/entrypoints/openai/chat_completion/
protocol.py): besides the standard fields, `add_generation_prompt` / `continue_final_message` (the
judge continues an assistant message), `seed`, `prompt_logprobs`, `return_token_ids` and
`structured_outputs: {"json": schema}`. The older `guided_json` is accepted by such a server and
ignored (output unconstrained, HTTP 200): cai never sends it, and the start-up check
(`cai.engines.probe`) proves each server constrains output before any work.
"""

from __future__ import annotations

from typing import Any

from cai.engines.protocol import Generation, Request


class BadReply(Exception):
    """A reply that is not what a vLLM server sends: counted as that server failing."""


def chat_body(request: Request, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "add_generation_prompt": not request.continue_final,
        "continue_final_message": request.continue_final,
        "stream": False,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = request.logprobs
    if request.prompt_logprobs:
        body["prompt_logprobs"] = 0  # the prompt's own token at each position, as in-process
        body["return_token_ids"] = True
    if request.json_schema is not None:
        body["structured_outputs"] = {"json": request.json_schema}
    return body


def to_generation(reply: Any, request: Request) -> Generation:
    """The reply as a Generation; anything missing or mistyped raises BadReply."""
    try:
        choice = reply["choices"][0]
        usage = reply["usage"]
        text = choice["message"].get("content") or ""
        details = usage.get("prompt_tokens_details") or {}
        token_ids = tuple(int(t) for t in (reply.get("prompt_token_ids") or ()))
        return Generation(
            text=str(text),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            prompt_tokens=int(usage["prompt_tokens"]),
            output_tokens=int(usage.get("completion_tokens") or 0),
            logprobs=_logprobs(choice) if request.logprobs is not None else None,
            prompt_token_ids=token_ids,
            prompt_logprobs=_prompt_logprobs(reply, token_ids) if request.prompt_logprobs else None,
            cached_tokens=int(details.get("cached_tokens") or 0),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise BadReply(f"reply lacks a well-formed {exc!s} field") from exc


def _logprobs(choice: Any) -> tuple[dict[str, float], ...]:
    """One {decoded token: logprob} per generated token: the top k and the sampled token, as in-process."""
    steps = []
    for step in choice["logprobs"]["content"]:
        top = {str(entry["token"]): float(entry["logprob"]) for entry in step.get("top_logprobs") or ()}
        top.setdefault(str(step["token"]), float(step.get("logprob", -9999.0)))
        steps.append(top)
    return tuple(steps)


def _prompt_logprobs(reply: Any, token_ids: tuple[int, ...]) -> tuple[float | None, ...]:
    """The log-probability of each prompt token (None for the first), keyed by token id in the reply."""
    steps = reply["prompt_logprobs"]
    if len(steps) != len(token_ids):
        raise BadReply(f"{len(steps)} prompt logprobs for {len(token_ids)} prompt tokens")
    return tuple(
        None if step is None else float(step[str(token)]["logprob"])
        for token, step in zip(token_ids, steps, strict=True)
    )


def version_tuple(text: str) -> tuple[int, ...]:
    """'0.32.0', '0.11.0rc2', '0.10.2.dev5+gabc' -> (0, 32, 0), (0, 11, 0), (0, 10, 2)."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
