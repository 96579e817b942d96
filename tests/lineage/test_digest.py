"""Content hashes of what runs read: files, model folders (with their stat-keyed cache), and every kind of model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from cai.runs.digest import CACHE_NAME, data_files, folder_digest
from cai.runs.inputs import file_entry, model_entry, run_inputs


def model_folder(path: Path, weights: bytes = b"\x00" * 1000) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "llama"}')
    (path / "model.safetensors").write_bytes(weights)
    (path / "tokenizer.json").write_text("{}")
    return path


def test_a_model_folder_hash_is_the_hash_of_its_files_names_sizes_and_contents(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "v2")
    lines = "".join(
        f"{name}\t{(folder / name).stat().st_size}\t{hashlib.sha256((folder / name).read_bytes()).hexdigest()}\n"
        for name in ("config.json", "model.safetensors", "tokenizer.json")
    )
    digest = folder_digest(folder)
    assert digest.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert (digest.files, digest.bytes, digest.hashed_bytes) == (3, 1025, 1025)
    # what is not the model: cai's records, training arguments, checkpoints, hidden files
    (folder / "cai-lineage.json").write_text("{}")
    (folder / "training_args.bin").write_bytes(b"args")
    (folder / "checkpoint-2").mkdir()
    (folder / "checkpoint-2" / "model.safetensors").write_bytes(b"old")
    (folder / ".DS_Store").write_bytes(b"x")
    (folder / "README.md").write_text("a card")
    again = folder_digest(folder)
    assert again.sha256 == digest.sha256 and again.hashed_bytes == 0  # every content hash from the cache


def test_the_cache_is_keyed_by_size_and_mtime_and_a_copy_hashes_the_same(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "v2")
    first = folder_digest(folder)
    cache = json.loads((folder / CACHE_NAME).read_text())
    assert set(cache["files"]) == {"config.json", "model.safetensors", "tokenizer.json"}
    weights = folder / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"\x01" * 1000)  # same size, new content, new mtime
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = folder_digest(folder)
    assert changed.sha256 != first.sha256 and changed.hashed_bytes == 1000  # only the changed file reread
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert folder_digest(copy).sha256 == changed.sha256


def test_a_damaged_cache_is_no_cache(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "v2")
    first = folder_digest(folder)
    (folder / CACHE_NAME).write_text("{not json")
    again = folder_digest(folder)
    assert again.sha256 == first.sha256 and again.hashed_bytes == first.bytes


def test_a_read_only_folder_keeps_its_cache_in_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_folder(tmp_path / "store" / "v2")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    writable = os.access
    # a read-only model store (as root, chmod would not stop a write: the check itself says no)
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK and writable(path, mode))
    folder_digest(folder)
    assert not (folder / CACHE_NAME).exists()
    (cached,) = (tmp_path / "cache" / "cai" / "hashes").iterdir()
    assert json.loads(cached.read_text())["folder"] == str(folder.resolve())
    assert folder_digest(folder).hashed_bytes == 0


def test_every_kind_of_model_and_input(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "v2")
    entry = model_entry(str(folder), "v2")
    assert entry["kind"] == "folder" and entry["sha256"] == folder_digest(folder).sha256
    assert entry["path"] == str(folder.resolve()) and entry["hash"] == "cai-folder-1"
    embedded = model_folder(tmp_path / "embedded")
    (embedded / "cai-model.json").write_text(json.dumps({"gguf_sha256": "ab" * 32}))
    assert model_entry(str(embedded), "SmolLM2")["kind"] == "embedded"
    assert model_entry(str(embedded), "SmolLM2")["sha256"] == "ab" * 32
    served = model_entry("http://a:8000,http://b:8000", "served-model")
    assert served == {"label": "served-model", "kind": "server", "servers": ["http://a:8000", "http://b:8000"],
                      "sha256": None}  # fmt: skip
    assert model_entry("no-such-org/no-such-model", "x") == {"label": "x", "kind": "name", "sha256": None}
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "hi"}\n')
    assert file_entry(str(prompts))["sha256"] == hashlib.sha256(prompts.read_bytes()).hexdigest()
    data = tmp_path / "dataset"
    (data / "train").mkdir(parents=True)
    (data / "train" / "data-00000-of-00001.arrow").write_bytes(b"arrow")
    (data / "dataset_dict.json").write_text("{}")
    assert file_entry(str(data))["sha256"] == folder_digest(data, data_files).sha256
    assert file_entry(str(data))["files"] == 2
    inputs = run_inputs(
        {"input": str(prompts), "stdin": "<stdin>"}, (prompts, "c0ffee"), {"model": (str(folder), "v2")}
    )
    assert set(inputs["files"]) == {"input"} and inputs["constitution"]["sha256"] == "c0ffee"
