"""VLLMEngine: the engine protocol on vLLM's offline `LLM` in this process, and its CPU / GPU defaults.

Only this module imports vLLM, and only when an engine is built, so `cai --help` stays instant.
One engine instance is built per run and serves every pass, so the model loads once and vLLM's
prefix cache stays warm across passes.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from cai.engines.args import coerce_engine_args
from cai.engines.cpu import default_dtype, read_cpu
from cai.engines.heap import HeapTrimmer
from cai.engines.protocol import Generation, Message, Request
from cai.errors import EngineError

# Settings measured on a 2-core, GPU-less machine (see docs/engine.md): in-process, eager,
# an explicit KV cache (vLLM's memory check otherwise fails), and no chunked prefill because
# per-request seeds crash it once a step holds more than ~4k tokens. KV blocks of 32 tokens instead of
# vLLM's 128 on CPU let the prefix cache serve more of each prompt. The dtype follows the CPU
# (cai.engines.cpu): bf16 where the processor does bf16 arithmetic, float32 elsewhere.
CPU_DEFAULTS: dict[str, Any] = {
    "max_model_len": 4096,
    "enforce_eager": True,
    "enable_prefix_caching": True,
    "block_size": 32,  # the CPU kernels' smallest: the prefix cache reuses prompts in 32-token steps, not 128
    "enable_chunked_prefill": False,
    "kv_cache_memory_bytes": 512 * 2**20,
    # records started first are finished first: a judge's follow-up questions run before the next pairs'
    # first ones evict the prefix they share from the cache (BENCHMARKS.md, "Judge speed")
    "scheduling_policy": "priority",
    "use_tqdm_on_load": False,
}
GPU_DEFAULTS: dict[str, Any] = {
    "max_model_len": 4096,
    "enable_prefix_caching": True,
    "scheduling_policy": "priority",
    "use_tqdm_on_load": False,
}


def engine_defaults(on_cpu: bool) -> tuple[dict[str, Any], str]:
    """The engine settings cai starts from on this machine, and why the dtype is what it is."""
    if not on_cpu:
        return dict(GPU_DEFAULTS), "vLLM's default for the model on this GPU (dtype=auto)"
    dtype, why = default_dtype(read_cpu())
    return {**CPU_DEFAULTS, "dtype": dtype}, why


MISSING_VLLM = (
    "vLLM is not installed in this environment. Install the extra for your hardware: "
    "pip install 'cai[cpu]' (then: pip uninstall -y torchvision torchaudio torchcodec) "
    "or pip install 'cai[gpu]'. The README's setup command does this for you."
)


@dataclass
class VLLMEngine:
    """The real engine: one offline `vllm.LLM`, built with CPU or GPU defaults plus user overrides."""

    model: str
    engine_args: Mapping[str, str] = field(default_factory=dict)
    model_name: str = ""
    load_seconds: float = 0.0
    max_model_len: int = 0
    dtype: str = ""
    dtype_reason: str = ""
    _llm: Any = None
    _tokenizer: Any = None
    _tickets: dict[str, int] = field(default_factory=dict)  # vLLM request id -> ticket
    _finished: list[tuple[int, Generation]] = field(default_factory=list)
    _next_ticket: int = 0
    _heap: HeapTrimmer | None = None
    _by_priority: bool = False

    def __post_init__(self) -> None:
        self.model_name = self.model_name or self.model
        if Path(self.model).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
        vllm = _import_vllm()
        fields = {f.name: f.type for f in dataclasses.fields(vllm.EngineArgs)}
        overrides = coerce_engine_args(self.engine_args, fields)
        defaults, self.dtype_reason = engine_defaults(on_cpu())
        settings = {**defaults, **overrides}
        if "dtype" in overrides:
            self.dtype_reason = f"set with --engine-arg dtype={self.engine_args['dtype']}"
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._llm = vllm.LLM(model=self.model, **settings)
        except Exception as exc:  # vLLM raises many kinds; the user needs one clear line
            raise EngineError(_explain_start_failure(exc, self.model_name)) from exc
        self.load_seconds = time.perf_counter() - started
        config = self._llm.llm_engine.model_config
        self.max_model_len = int(config.max_model_len)
        self.dtype = str(config.dtype).removeprefix("torch.")
        self._tokenizer = self._llm.get_tokenizer()
        self._heap = HeapTrimmer()
        self._by_priority = settings.get("scheduling_policy") == "priority"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        """Submit and step until these requests are done; others finishing meanwhile wait for `collect`."""
        tickets = self.submit(requests)
        wanted, results = set(tickets), dict[int, Generation]()
        while len(results) < len(tickets):
            self._step()
            results.update((t, g) for t, g in self._finished if t in wanted)
            self._finished = [(t, g) for t, g in self._finished if t not in wanted]
        return [results[t] for t in tickets]

    def submit(self, requests: Sequence[Request]) -> list[int]:
        tickets = list(range(self._next_ticket, self._next_ticket + len(requests)))
        self._next_ticket += len(requests)
        for continuing in (False, True):  # vLLM takes the template mode per call, not per request
            indices = [i for i, r in enumerate(requests) if r.continue_final == continuing]
            if not indices:
                continue
            ids = self._llm.enqueue_chat(
                [list(requests[i].messages) for i in indices],
                [_sampling_params(requests[i]) for i in indices],
                use_tqdm=False,
                priority=[_priority(requests[i]) for i in indices] if self._by_priority else None,
                add_generation_prompt=not continuing,
                continue_final_message=continuing,
            )
            for i, request_id in zip(indices, ids, strict=True):
                # vLLM hands back "<id>-<random suffix>"; its outputs carry "<id>" (a counter, no dash)
                self._tickets[request_id.rsplit("-", 1)[0]] = tickets[i]
        return tickets

    def collect(self) -> list[tuple[int, Generation]]:
        while not self._finished:
            self._step()
        done, self._finished = self._finished, []
        return done

    def step(self) -> list[tuple[int, Generation]]:
        """One scheduler step (if any request is unfinished), then every request finished so far.

        For a host that takes new requests between steps (cai.engines.replica) rather than in `collect`,
        which steps until something finishes.
        """
        if self._llm.llm_engine.has_unfinished_requests():
            self._step()
        done, self._finished = self._finished, []
        return done

    def _step(self) -> None:
        """One scheduler step of vLLM's engine loop: everything queued advances together."""
        engine = self._llm.llm_engine
        if not engine.has_unfinished_requests():
            raise EngineError("the engine was asked for results but has no request in flight")
        for output in engine.step():
            if output.finished:
                self._finished.append((self._tickets.pop(output.request_id), _to_generation(output)))
        if self._heap is not None:
            self._heap.check()

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return count_prompt_tokens(self._tokenizer, messages)

    def token_counter(self) -> Callable[[Sequence[Message]], int]:
        """`prompt_tokens` on a copy of the tokenizer: callable from another thread while the engine steps."""
        return partial(count_prompt_tokens, copy.deepcopy(self._tokenizer))

    def close(self) -> None:
        """Drop the engine so its memory is freed before the process goes on (or exits)."""
        self._llm = None
        self._tokenizer = None


def count_prompt_tokens(tokenizer: Any, messages: Sequence[Message]) -> int:
    """Length of the conversation after the chat template, with the generation prompt and no special tokens added."""
    text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    return len(tokenizer.encode(text, add_special_tokens=False))


def _import_vllm() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch  # noqa: F401  (first, so its loggers exist and can be quietened before vLLM loads)

            logging.getLogger("torch._library.triton").setLevel(logging.ERROR)
            import vllm
    except ImportError as exc:
        raise EngineError(f"{MISSING_VLLM}\n(import error: {exc})") from exc
    except Exception as exc:
        if "torchvision" in str(exc) or "nms" in str(exc):
            raise EngineError(
                "vLLM failed to import because a CUDA build of torchvision sits beside the CPU torch. "
                "Fix: pip uninstall -y torchvision torchaudio torchcodec"
            ) from exc
        raise EngineError(f"vLLM failed to import: {exc}") from exc
    return vllm


def on_cpu() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


def _explain_start_failure(exc: Exception, model: str) -> str:
    text = str(exc)
    if "memory" in text.lower() or "kv cache" in text.lower():
        return (
            f"the engine could not reserve memory for {model}: {text.splitlines()[0] if text else exc!r}. "
            "Try --engine-arg kv_cache_memory_bytes=<bytes> or a smaller --engine-arg max_model_len=<tokens>."
        )
    if not Path(model).exists():
        return (
            f"could not load model {model!r}: {text.splitlines()[0] if text else exc!r}. "
            "--model takes a local model folder, or a model name already in the Hugging Face cache; "
            "omit it to use the embedded SmolLM2-135M-Instruct."
        )
    return f"the engine failed to start for {model}: {text.splitlines()[0] if text else exc!r}"


def _priority(request: Request) -> int:
    """vLLM runs smaller values first; a flow's requests carry their record's start number (cai.engines.flows)."""
    return request.affinity or 0


def _sampling_params(request: Request) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    structured = StructuredOutputsParams(json=request.json_schema) if request.json_schema else None
    return SamplingParams(
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        seed=request.seed,
        logprobs=request.logprobs,
        prompt_logprobs=0 if request.prompt_logprobs else None,
        structured_outputs=structured,
    )


def _to_generation(output: Any) -> Generation:
    completion = output.outputs[0]
    token_ids = tuple(output.prompt_token_ids or ())
    logprobs = None
    if completion.logprobs is not None:
        logprobs = tuple(
            {entry.decoded_token or str(token): entry.logprob for token, entry in step.items()}
            for step in completion.logprobs
        )
    prompt_logprobs = None
    if output.prompt_logprobs is not None:  # one dict per prompt token (None first), holding the actual token
        prompt_logprobs = tuple(
            None if step is None else step[token].logprob
            for token, step in zip(token_ids, output.prompt_logprobs, strict=True)
        )
    return Generation(
        text=completion.text,
        finish_reason=str(completion.finish_reason or "stop"),
        prompt_tokens=len(token_ids),
        output_tokens=len(completion.token_ids),
        logprobs=logprobs,
        prompt_token_ids=token_ids,
        prompt_logprobs=prompt_logprobs,
        cached_tokens=int(getattr(output, "num_cached_tokens", 0) or 0),
    )
