"""`cai revise` and `cai score` over real `vllm serve` servers (started by `cai model serve`).

Runs over two servers end every record under the key the in-process engine gives it (the served model
name is the in-process row label). Killing one server mid-run loses and duplicates nothing.
The last test kills a server: it must stay last in this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine
from tests.conftest import run_cli, wait_for_first_row
from tests.integration.served import Served, serving

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "prompts" / "sample.jsonl"
SCORE_ROWS = ROOT / "prompts" / "sample-score.jsonl"
REVISE = ("--rounds", "1", "--max-tokens", "16", "--seed", "3")


@pytest.fixture(scope="module")
def real_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Served]]:
    """Two servers, started when the session began (tests.conftest) if these tests were selected then."""
    with serving(2, tmp_path_factory.mktemp("servers")) as started:
        yield started


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def ended(out: Path) -> list[str]:
    """The key of every record where it ended: a pair in OUT, or a drop/quarantine entry beside it.

    Whether a record is a pair or dropped ("unchanged") can differ between engines: batches of other
    sizes round bf16 differently, and a 16-token sample may then differ. Where each record ended cannot.
    """
    rejects = out.with_name(out.stem + ".rejects.jsonl")
    dropped = [row["key"] for row in read(rejects)] if rejects.exists() else []
    return [row["cai"]["key"] for row in read(out)] + dropped


def over(servers: list[Served]) -> list[str]:
    return [arg for server in servers for arg in ("--server", server.url)]


@pytest.fixture(scope="module")
def in_process_keys(real_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("local") / "pairs.jsonl"
    code, _, stderr = run_cli(real_engine, "revise", str(PROMPTS), "-o", str(out), *REVISE)
    assert code == 0, stderr
    return ended(out)


def test_revise_over_two_servers_writes_the_in_process_keys(
    real_servers: list[Served], in_process_keys: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    code, _, stderr = run_cli_plain("revise", str(PROMPTS), "-o", str(out), *REVISE, *over(real_servers))
    assert code == 0, stderr
    assert "2 server(s) ready" in stderr
    keys = ended(out)
    assert len(keys) == len(set(keys)) and sorted(keys) == sorted(in_process_keys)


def test_score_over_servers_writes_the_in_process_keys(
    real_servers: list[Served], real_engine: Engine, tmp_path: Path
) -> None:
    local, served = tmp_path / "local.jsonl", tmp_path / "served.jsonl"
    code, _, stderr = run_cli(real_engine, "score", str(SCORE_ROWS), "-o", str(local), "--principles", "2")
    assert code == 0, stderr
    served_args = ("score", str(SCORE_ROWS), "-o", str(served), "--principles", "2", *over(real_servers))
    code, _, stderr = run_cli_plain(*served_args)
    assert code == 0, stderr
    assert [r["scores"]["key"] for r in read(served)] == [r["scores"]["key"] for r in read(local)]
    kinds = [r["scores"]["kind"] for r in read(served)]
    assert kinds == [r["scores"]["kind"] for r in read(local)] and "pointwise" in kinds


def run_cli_plain(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from cai.app import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_killing_one_server_mid_run_loses_and_duplicates_nothing(
    real_servers: list[Served], in_process_keys: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    args = ["revise", str(PROMPTS), "-o", str(out), "--rounds", "1", "--max-tokens", "16", "--seed", "3"]
    command = [sys.executable, "-m", "cai", *args, "--chunk-size", "1", *over(real_servers)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        wait_for_first_row(out, run)
        real_servers[1].kill()
        _, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    assert f"server {real_servers[1].url} taken out" in " ".join(stderr.split())  # the note may wrap
    keys = ended(out)
    assert len(keys) == len(set(keys)) == len(in_process_keys)  # every record once: nothing lost or twice
    assert sorted(keys) == sorted(in_process_keys)
