"""Content hashes of what a run read: a file's sha256, and one sha256 for a whole folder (a model, a dataset).

A folder's hash covers the files that decide what it is — for a model its config, weights and tokenizer
files at the top level (not checkpoints, not cai's own `cai-*.json` records, not `training_args.bin`);
for a data folder every file — as the sha256 of lines "name<TAB>bytes<TAB>sha256 of the content", sorted
by name. Renaming, resizing or changing any of them changes it; copying the folder elsewhere does not.

Hashing a 15 GB model's weights takes tens of seconds, so a file's content hash is cached beside the
folder, in `cai-hashes.json`, under its size and modification time (as git and make trust a file's stat):
a later run rehashes only what changed. A folder cai may not write into (a read-only model store) keeps
its cache in the user's cache folder instead (~/.cache/cai/hashes/).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_NAME = "cai-hashes.json"
FOLDER_METHOD = "cai-folder-1"  # how a folder's hash is made: recorded beside it, so a change of method shows
MODEL_SUFFIXES = frozenset(
    {".json", ".safetensors", ".bin", ".pt", ".pth", ".gguf", ".model", ".txt", ".jinja", ".tiktoken", ".py"}
)
NOT_MODEL = frozenset({"training_args.bin"})


def file_sha256(path: Path) -> str:
    """The file's sha256 ("" hashed when it does not exist), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    if path.exists():
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FolderDigest:
    sha256: str
    files: int
    bytes: int
    hashed_bytes: int  # read this time: 0 when every content hash came from the cache

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "hash": FOLDER_METHOD, "files": self.files, "bytes": self.bytes}


def is_model_file(path: Path) -> bool:
    """Config, weights and tokenizer files: what a model folder's hash covers."""
    name = path.name
    return path.suffix in MODEL_SUFFIXES and not name.startswith(("cai-", ".")) and name not in NOT_MODEL


def model_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and is_model_file(path))


def data_files(folder: Path) -> list[Path]:
    """Every file of a data folder (a `datasets` save), at any depth, but hidden ones and cai's records."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and not path.name.startswith("cai-")
    )


def folder_digest(folder: Path, select: Callable[[Path], list[Path]] = model_files) -> FolderDigest:
    """One sha256 for the selected files of `folder`, their content hashes cached by size and mtime."""
    folder = folder.resolve()
    cache_path = _cache_path(folder)
    cache = _read_cache(cache_path)
    lines, total, hashed = [], 0, 0
    fresh: dict[str, dict[str, Any]] = {}
    for path in select(folder):
        name = path.relative_to(folder).as_posix()
        stat = path.stat()
        known = cache.get(name)
        if known and known.get("bytes") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
            digest = str(known["sha256"])
        else:
            digest = file_sha256(path)
            hashed += stat.st_size
        fresh[name] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        lines.append(f"{name}\t{stat.st_size}\t{digest}\n")
        total += stat.st_size
    if fresh != cache:
        _write_cache(cache_path, folder, fresh)
    return FolderDigest(hashlib.sha256("".join(lines).encode()).hexdigest(), len(lines), total, hashed)


def _cache_path(folder: Path) -> Path:
    if os.access(folder, os.W_OK):
        return folder / CACHE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cai" / "hashes" / f"{hashlib.sha256(str(folder).encode()).hexdigest()[:24]}.json"


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """The cached content hashes; a cache that cannot be read is no cache (everything is hashed afresh)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_cache(path: Path, folder: Path, files: dict[str, dict[str, Any]]) -> None:
    """Replace the cache atomically; a cache that cannot be written only costs the next run a rehash."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"folder": str(folder), "files": files}, handle, indent=1, sort_keys=True)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
