"""`cai revise` and `cai score` with --server against fake vLLM servers: same rows, clear errors, resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from tests.conftest import write_lines
from tests.fake_openai import FakeServer
from tests.fakes import ScriptedEngine

pytestmark = pytest.mark.usefixtures("quick_server_retries")


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "prompts.txt", [f"Question number {i}?" for i in range(6)])


@pytest.fixture
def pair(fake_model_dir: Path) -> Iterator[list[FakeServer]]:
    """Two servers serving the fake model folder under its path: rows get the in-process label."""
    servers = [FakeServer(model=str(fake_model_dir)).start() for _ in range(2)]
    yield servers
    for server in servers:
        server.kill()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def rows(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_revise_over_servers_writes_the_rows_in_process_writes(
    pair: list[FakeServer], prompts: Path, fake_model_dir: Path, tmp_path: Path, use_fake_engine: ScriptedEngine
) -> None:
    local, served = tmp_path / "local.jsonl", tmp_path / "served.jsonl"
    assert invoke("revise", str(prompts), "-o", str(local), "--model", str(fake_model_dir), "--judge").exit_code == 0
    result = invoke(
        "revise", str(prompts), "-o", str(served), "--judge", "--server", pair[0].url, "--server", pair[1].url
    )
    assert result.exit_code == 0, result.stderr
    assert "2 server(s) ready, vLLM 0.32.0" in result.stderr
    assert rows(served) == rows(local)  # same keys, same text: the flows ran unchanged over HTTP
    assert pair[0].chat_requests > 0 and pair[1].chat_requests > 0


def test_score_over_servers_from_the_environment(
    pair: list[FakeServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_lines(
        tmp_path / "rows.jsonl",
        [
            json.dumps({"prompt": "q", "chosen": "a good answer", "rejected": "a bad answer"}),
            json.dumps({"prompt": "q", "response": "an answer"}),
        ],
    )
    monkeypatch.setenv("CAI_SERVERS", f"{pair[0].url},{pair[1].url}")
    out = tmp_path / "scored.jsonl"
    result = invoke("score", str(data), "-o", str(out), "--principles", "2")
    assert result.exit_code == 0, result.stderr
    scored = rows(out)
    assert [row["scores"]["kind"] for row in scored] == ["pairwise", "pointwise"]
    assert scored[0]["scores"]["p_a"] == pytest.approx(0.8) and scored[1]["scores"]["overall"] == 7
    assert any("structured_outputs" in body for server in pair for body in server.bodies[1:])


def test_a_bad_server_stops_the_run_before_any_work(pair: list[FakeServer], prompts: Path, tmp_path: Path) -> None:
    with FakeServer(ignore_structured=True, model=pair[0].model) as ignoring:
        out = tmp_path / "pairs.jsonl"
        result = invoke("revise", str(prompts), "-o", str(out), "--server", pair[0].url, "--server", ignoring.url)
    assert result.exit_code == 2
    assert f"{ignoring.url}: ignores structured_outputs" in result.stderr
    assert pair[0].url + ":" not in result.stderr
    assert not out.exists()


def test_engine_args_belong_to_the_server(pair: list[FakeServer], prompts: Path) -> None:
    result = invoke("revise", str(prompts), "--server", pair[0].url, "-E", "max_num_seqs=4")
    assert result.exit_code == 2
    assert "belong to the servers" in result.stderr


def test_every_server_gone_exits_1_keeps_finished_rows_and_a_rerun_resumes(
    pair: list[FakeServer], prompts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    for server in pair:
        server.die_after = 5  # 3 requests per record (initial, critique, revision): a few records finish
    args = ("revise", str(prompts), "-o", str(out), "--rounds", "1", "--chunk-size", "1")
    result = invoke(*args, "--server", pair[0].url, "--server", pair[1].url)
    assert result.exit_code == 1, result.stderr
    assert "every server was taken out" in result.stderr and "rerun" in result.stderr
    done = rows(out)
    assert 1 <= len(done) < 6
    with FakeServer(model=pair[0].model) as fresh:
        again = invoke(*args, "--server", fresh.url)
    assert again.exit_code == 0, again.stderr
    keys = [row["cai"]["key"] for row in rows(out)]
    assert len(keys) == 6 == len(set(keys))
    assert f"{len(done)} of 6 rows are already done" in again.stderr
