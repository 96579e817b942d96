"""Shared fixtures: a scripted fake engine for fast tests, one real vLLM engine per session."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from cai.engines import Engine, Generation, Request
from cai.engines.events import StageDone
from cai.engines.registry import EngineFactory, TokenizerFactory, _vllm_tokenizer, register_engine
from tests.fakes import ScriptedEngine

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class RecordingProgress:
    """A Progress that keeps what it was told, so tests can assert on it."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.plan: dict[str, int] = {}
        self.events: list[StageDone] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def begin(self, plan: Mapping[str, int]) -> None:
        self.plan = dict(plan)

    def advance(self, event: StageDone) -> None:
        self.events.append(event)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Real server tests selected: start their servers now, to load while the tests before them run."""
    wanted = any("real_servers" in getattr(item, "fixturenames", ()) for item in session.items)
    if session.config.option.collectonly or not wanted:
        return
    from tests.integration import served

    served.start_early(2)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.integration import served

    served.stop_early(keep_logs=exitstatus != 0)


@pytest.fixture(autouse=True)
def outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder: a default path (./cai-revise.rejects.jsonl) never lands in the repo."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def quick_server_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs over fake servers: short timeouts and backoff, and no CAI_SERVERS from the caller's shell."""
    from cai.engines.server import ServerSettings

    quick = ServerSettings(concurrency=8, timeout=5.0, connect_timeout=1.0, retries=2, backoff=0.01, eject_after=2)
    monkeypatch.setattr("cai.engines.server.DEFAULT_SETTINGS", quick)
    monkeypatch.delenv("CAI_SERVERS", raising=False)


@pytest.fixture
def progress() -> RecordingProgress:
    return RecordingProgress()


@pytest.fixture
def fake_engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def fake_model_dir(tmp_path: Path) -> Path:
    """A folder that passes --model's checks; only the fake engine ever 'loads' it."""
    folder = tmp_path / "fake-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def use_fake_engine(monkeypatch: pytest.MonkeyPatch, fake_engine: ScriptedEngine) -> ScriptedEngine:
    """Make the CLI build the fake engine instead of vLLM: registered, then selected by name as a user would."""
    select_engine(monkeypatch, lambda path, args, label: fake_engine)
    return fake_engine


def select_engine(
    monkeypatch: pytest.MonkeyPatch, build: EngineFactory, tokenizer: TokenizerFactory | None = None
) -> None:
    """Register `build` as an engine and select it for the CLI (CAI_ENGINE), for this test only."""
    register_engine("test", build, tokenizer or (lambda path: ScriptedEngine()))
    monkeypatch.setenv("CAI_ENGINE", "test")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


class Borrowed:
    """The session's engine lent to one run: the run's close() must not unload it for later tests."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.model_name = engine.model_name
        self.max_model_len = engine.max_model_len
        self.dtype, self.dtype_reason = engine.dtype, engine.dtype_reason
        self.closed = False

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self.engine.generate(requests)

    def submit(self, requests: Sequence[Request]) -> list[int]:
        return self.engine.submit(requests)

    def collect(self) -> list[tuple[int, Generation]]:
        return self.engine.collect()

    def prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        return self.engine.prompt_tokens(messages)

    def close(self) -> None:
        self.closed = True


def run_cli(engine: Engine, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """`cai ARGS` in-process on this (borrowed) engine, `stdin` its standard input: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from cai.app import app

    with pytest.MonkeyPatch.context() as patch:
        select_engine(patch, lambda path, engine_args, label: Borrowed(engine), _vllm_tokenizer)
        result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def real_engine() -> Iterator[Engine]:
    """The real vLLM engine on the embedded model, loaded once for every test that needs it."""
    from cai.engines import model
    from cai.engines.vllm import VLLMEngine
    from cai.runs.engines import resolve_model

    path, label = resolve_model(None, lambda message: None)
    engine = VLLMEngine(path, {}, model_name=label)
    assert model.locate().prepared
    yield engine
    engine.close()
