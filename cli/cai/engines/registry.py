"""Engines by name: what `--engine NAME` (or CAI_ENGINE) builds in this process, and its tokenizer.

`vllm` is built in. A plugin adds an engine under the entry-point group `cai.engines` (a callable that
calls `register_engine`), and Python code — a notebook, the tests' scripted engine — calls
`register_engine` directly; either way the run selects it by name, as a user does. Nothing heavy is
imported until an engine is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from cai.engines.protocol import Engine, TokenCounter
from cai.errors import InputError

DEFAULT_ENGINE = "vllm"
ENTRY_POINTS = "cai.engines"

EngineFactory = Callable[[str, Mapping[str, str], str], Engine]  # (model path, -E arguments, row label)
TokenizerFactory = Callable[[str], TokenCounter]  # model path -> what --dry-run counts prompt tokens with


@dataclass(frozen=True)
class EngineKind:
    name: str
    build: EngineFactory
    tokenizer: TokenizerFactory


def _build_vllm(path: str, engine_args: Mapping[str, str], label: str) -> Engine:
    from cai.engines.vllm import VLLMEngine  # vLLM loads only when an engine is built

    return VLLMEngine(path, engine_args, model_name=label)


def _vllm_tokenizer(path: str) -> TokenCounter:
    from cai.engines.tokens import HFTokenCounter  # transformers loads only for a dry run

    return HFTokenCounter(path)


_KINDS: dict[str, EngineKind] = {DEFAULT_ENGINE: EngineKind(DEFAULT_ENGINE, _build_vllm, _vllm_tokenizer)}
_plugins_loaded = False


def register_engine(name: str, build: EngineFactory, tokenizer: TokenizerFactory | None = None) -> None:
    """Make `build` the engine `--engine NAME` selects (replacing one of that name); without a tokenizer,
    a dry run counts prompt tokens with the vLLM model's own (transformers)."""
    _KINDS[name] = EngineKind(name, build, tokenizer or _vllm_tokenizer)


def engine_kind(name: str | None) -> EngineKind:
    """The engine registered as `name` (None: vllm); an unknown name is an input error listing the known ones."""
    name = name or DEFAULT_ENGINE
    _load_plugins()
    if name not in _KINDS:
        known = ", ".join(sorted(_KINDS))
        raise InputError(f"--engine {name}: no such engine (known: {known}; plugins register under {ENTRY_POINTS})")
    return _KINDS[name]


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINTS):
        entry.load()()
