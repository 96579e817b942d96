"""`--model NAME` offline: a name missing from the Hugging Face cache fails before anything loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cai.app import app
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, offline, as on a machine that reaches no hub."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    return cache


def cache_model(cache: Path, name: str) -> None:
    """Lay out NAME the way the hub client stores a download: refs/main names the snapshot."""
    folder = cache / f"models--{name.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")


def revise(tmp_path: Path, name: str) -> tuple[int, str]:
    prompts = write_lines(tmp_path / "p.txt", ["hello"])
    result = CliRunner().invoke(app, ["revise", str(prompts), "-o", str(tmp_path / "out.jsonl"), "--model", name])
    return result.exit_code, result.stderr


def test_a_name_missing_from_the_cache_is_exit_2_before_the_engine_is_built(
    use_fake_engine: ScriptedEngine, hub_cache: Path, tmp_path: Path
) -> None:
    code, stderr = revise(tmp_path, "no-such-org/no-such-model")
    assert code == 2, stderr
    message = " ".join(stderr.split())
    assert "could not load model 'no-such-org/no-such-model'" in message and "HF_HUB_OFFLINE" in message
    assert "--model" in message and str(hub_cache) in message
    assert "Traceback" not in stderr
    assert use_fake_engine.requests == []
    assert not (tmp_path / "out.jsonl").exists()


def test_a_malformed_name_says_what_is_wrong(use_fake_engine: ScriptedEngine, hub_cache: Path, tmp_path: Path) -> None:
    code, stderr = revise(tmp_path, "a/b/c")
    assert code == 2, stderr
    assert "--model a/b/c: no such folder, and not a model name" in " ".join(stderr.split())
    assert "Traceback" not in stderr


def test_a_cached_name_reaches_the_engine(use_fake_engine: ScriptedEngine, hub_cache: Path, tmp_path: Path) -> None:
    cache_model(hub_cache, "some-org/some-model")
    code, stderr = revise(tmp_path, "some-org/some-model")
    assert code == 0, stderr
    assert use_fake_engine.requests


def test_online_the_name_is_left_to_vllm(
    use_fake_engine: ScriptedEngine, hub_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    code, stderr = revise(tmp_path, "no-such-org/no-such-model")
    assert code == 0, stderr  # vLLM would download it; the fake engine stands in
