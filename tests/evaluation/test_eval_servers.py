"""`cai eval --server`: every role runs over vLLM servers and writes the rows an in-process run writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cai.app import app
from tests.conftest import write_lines
from tests.evaluation.helpers import read_rows
from tests.fake_openai import FakeServer
from tests.fakes import ScriptedEngine

pytestmark = pytest.mark.usefixtures("quick_server_retries")


@pytest.fixture
def server(fake_model_dir: Path) -> Iterator[FakeServer]:
    served = FakeServer(model=str(fake_model_dir)).start()
    yield served
    served.kill()


def test_eval_over_a_server_writes_the_in_process_rows(
    server: FakeServer, fake_model_dir: Path, tmp_path: Path, use_fake_engine: ScriptedEngine
) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["Question one?", "Question two?"])
    local, served = tmp_path / "local.jsonl", tmp_path / "served.jsonl"
    m = str(fake_model_dir)
    sides = ["--seed-b", "1", "--principles", "2"]
    result = CliRunner().invoke(
        app, ["eval", str(prompts), "-o", str(local), "--model-a", m, "--model-b", m, "--judge-model", m, *sides]
    )
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(app, ["eval", str(prompts), "-o", str(served), "--server", server.url, *sides])
    assert result.exit_code == 0, result.stderr
    assert read_rows(served) == read_rows(local)
    assert server.chat_requests > 0
