"""Shared fixtures: a scripted fake engine for fast tests, one real vLLM engine per session."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cai.api import Lent
from cai.engines import Engine
from cai.engines.events import StageDone
from cai.engines.registry import EngineFactory, TokenizerFactory, _vllm_tokenizer, register_engine
from tests.fakes import ScriptedEngine

if TYPE_CHECKING:
    from tests.integration.ray_cluster import RayTestCluster

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Ray (the --ray tests' cluster, and any run they start) stays on loopback: without this Ray turns 127.0.0.1 into
# this machine's network address. Read once, when ray is first imported (vLLM imports it too), hence here.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


class RecordingProgress:
    """A Progress that keeps what it was told, so tests can assert on it."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.plan: dict[str, int] = {}
        self.events: list[StageDone] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def begin(self, totals: Mapping[str, int]) -> None:
        self.plan = dict(totals)

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
    from cai.engines.pool import Readmission
    from cai.engines.server import ServerSettings

    readmission = Readmission(first_wait=0.05, max_wait=0.2, give_up_after=0.5)
    quick = ServerSettings(
        concurrency=8, timeout=5.0, connect_timeout=1.0, retries=2, backoff=0.01, eject_after=2, readmission=readmission
    )
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


Borrowed = Lent  # the session's engine lent to one run: the run's close() must not unload it


def run_cli(engine: Engine, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """`cai ARGS` in-process on this (borrowed) engine, `stdin` its standard input: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from cai.app import app

    with pytest.MonkeyPatch.context() as patch:
        select_engine(patch, lambda path, engine_args, label: Borrowed(engine), _vllm_tokenizer)
        result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def wait_for_first_row(out: Path, process: subprocess.Popen[str], seconds: float = 300) -> None:
    """Until OUT holds a committed row, so the run is under way; fails with the process's stderr if it ends first."""
    deadline = time.monotonic() + seconds
    while not (out.exists() and out.read_text().count("\n") >= 1):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no row after {seconds:.0f} s"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayTestCluster]:
    """A real two-node Ray cluster on this machine for the --ray tests: started once, stopped at the session's end."""
    from tests.integration.ray_cluster import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture(scope="session")
def real_engine() -> Iterator[Engine]:
    """The real vLLM engine on the embedded model, loaded once for every test that needs it."""
    from cai.engines import model
    from cai.engines.model import resolve_model
    from cai.engines.vllm import VLLMEngine

    path, label = resolve_model(None, lambda message: None)
    engine = VLLMEngine(path, {}, model_name=label)
    assert model.locate().prepared
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def judged_sample_pairs(real_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`cai revise --judge` on the sample prompts, run once for the tests that read its output (report, review):
    (the pairs file, the run's stderr). Readers write their own files elsewhere."""
    sample = Path(__file__).resolve().parents[1] / "prompts" / "sample.jsonl"
    pairs = tmp_path_factory.mktemp("judged") / "pairs.jsonl"
    args = ("revise", str(sample), "-o", str(pairs), "--judge", "--principles", "2", "--max-tokens", "24")
    code, _, stderr = run_cli(real_engine, *args)
    assert code == 0, stderr
    return pairs, stderr
