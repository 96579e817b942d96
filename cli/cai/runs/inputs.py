"""The manifest's `inputs`: the sha256 of everything a run read, so a model's lineage can be read back.

    "inputs": {
      "files": {"input": {"path": "/abs/prompts.jsonl", "sha256": "…", "bytes": 812}},
      "constitution": {"path": "/abs/constitutions/harmless.yaml", "sha256": "…"},
      "models": {"model": {"label": "SmolLM2-135M-Instruct@b179c9523d0e", "kind": "embedded",
                           "path": "/home/u/.cache/cai/models/…", "sha256": "<the GGUF's sha256>", "hash": "gguf"}}
    }

A file is hashed whole; a folder (a model, a dataset folder) by cai.runs.digest. Paths are absolute, so
`cai lineage` finds them from anywhere. A model is one of: `embedded` (the GGUF cai converted, named by its
sha256, already known), `folder` (a Hugging Face model folder), `name` (a model in the Hugging Face cache:
its snapshot folder is hashed; null when it is not there), `server` (served by vLLM servers: cai cannot see
the weights, so no hash). Nothing here decides a resume: that is the manifest's `parameters`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cai.engines.model import MARKER
from cai.runs.digest import data_files, file_sha256, folder_digest

BIG = 1 << 30  # a note when hashing reads more than this (once: the content hashes are cached)
Note = Callable[[str], None]
NOT_FILES = ("<stdin>", "<rows>", "-")


def run_inputs(
    files: Mapping[str, str],
    constitution: tuple[Path, str],
    models: Mapping[str, tuple[str, str]],
    note: Note = lambda message: None,
) -> dict[str, Any]:
    """The `inputs` object: files by role (name → path), the constitution (path, sha256), models by role
    (name → (what the engine loads, the label on rows))."""
    return {
        "files": {name: file_entry(path) for name, path in files.items() if path not in NOT_FILES},
        "constitution": {"path": str(constitution[0].resolve()), "sha256": constitution[1]},
        "models": {name: model_entry(path, label, note) for name, (path, label) in models.items()},
    }


def file_entry(given: str) -> dict[str, Any]:
    """A file or data folder read as input: its absolute path and content hash (null when it is gone)."""
    path = Path(given).expanduser()
    entry: dict[str, Any] = {"path": str(path.resolve())}
    if path.is_dir():
        entry.update(folder_digest(path, data_files).as_dict())
    elif path.is_file():
        entry.update({"sha256": file_sha256(path), "bytes": path.stat().st_size})
    else:
        entry["sha256"] = None
    return entry


def model_entry(path: str, label: str, note: Note = lambda message: None) -> dict[str, Any]:
    """What a role's model was, as far as its weights can be named."""
    entry: dict[str, Any] = {"label": label}
    if path.startswith(("http://", "https://")):
        return {**entry, "kind": "server", "servers": path.split(","), "sha256": None}
    kind = "folder" if Path(path).expanduser().is_dir() else "name"
    folder = Path(path).expanduser() if kind == "folder" else _cached_snapshot(path)
    if folder is None:
        return {**entry, "kind": kind, "sha256": None}
    marker = folder / MARKER
    if marker.is_file():  # the embedded model: its conversion is named by the GGUF's sha256
        gguf = json.loads(marker.read_text(encoding="utf-8"))["gguf_sha256"]
        return {**entry, "kind": "embedded", "path": str(folder.resolve()), "sha256": gguf, "hash": "gguf"}
    digest = folder_digest(folder)
    if digest.hashed_bytes > BIG:
        note(f"hashed {digest.hashed_bytes / 2**30:.1f} GiB of {folder} for the manifest (cached for later runs)")
    return {**entry, "kind": kind, "path": str(folder.resolve()), **digest.as_dict()}


def _cached_snapshot(name: str) -> Path | None:
    """The Hugging Face cache's snapshot folder of a model name, or None (not cached, or not a name)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # any failure means: no snapshot to hash
        return None
    return Path(found).parent if isinstance(found, str) else None
