"""`--ray` on the command line over fake replicas: the in-process rows, named replicas, and clear refusals (exit 2)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.engines.links import ReplicaSettings
from cai.engines.pool import Readmission
from cai.engines.ray import RayCluster
from cai.engines.replica import Factory
from cai.engines.replicas import ReplicaEngine
from tests.conftest import select_engine, write_lines
from tests.evaluation.helpers import read_rows
from tests.fake_replicas import FakeReplica
from tests.fakes import ScriptedEngine
from tests.integration.served import free_port


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "prompts.txt", [f"Question number {i}?" for i in range(6)])


@pytest.fixture
def fake_cluster(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replicas start as fake replicas in this process, each holding the engine the CLI's factory builds."""
    started: list[dict[str, Any]] = []
    select_engine(monkeypatch, lambda path, args, label: ScriptedEngine(model_name=label))
    monkeypatch.delenv("CAI_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("CAI_SERVERS", raising=False)

    def start(
        cluster: RayCluster,
        engine_factory: Factory,
        path: str,
        engine_args: Mapping[str, str],
        label: str,
        embedded: bool,
        settings: ReplicaSettings,
        note: Any,
    ) -> ReplicaEngine:
        replicas = []
        for number in range(cluster.replicas):
            engine = engine_factory(path, engine_args, label)
            assert isinstance(engine, ScriptedEngine)
            replicas.append(FakeReplica(f"cai-test-{number}", model_name=label, engine=engine))
        started.append({"cluster": cluster, "engine_args": dict(engine_args), "replicas": replicas})
        return ReplicaEngine(replicas, settings, note)

    monkeypatch.setattr("cai.engines.ray.start_replicas", start)
    return started


def test_revise_on_replicas_writes_the_rows_in_process_writes(
    fake_cluster: list[dict[str, Any]], prompts: Path, fake_model_dir: Path, tmp_path: Path
) -> None:
    local, spread = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    model = ("--model", str(fake_model_dir))
    assert invoke("revise", str(prompts), "-o", str(local), *model, "--judge").exit_code == 0
    args = ("revise", str(prompts), "-o", str(spread), *model, "--judge", "--ray", "local", "--replicas", "2")
    result = invoke(*args, "--replica-cpus", "2", "-E", "max_num_seqs=8")
    assert result.exit_code == 0, result.stderr
    assert rows(spread) == rows(local)  # same keys, same text: the flows ran unchanged over replicas
    (run,) = fake_cluster
    assert run["cluster"] == RayCluster("local", 2, 2.0, 0.0) and run["engine_args"] == {"max_num_seqs": "8"}
    assert all(replica.answered for replica in run["replicas"])
    summary = " ".join(result.stderr.split())
    assert "replica cai-test-0 on fake-node-cai-test-0:" in summary and "replica cai-test-1" in summary
    manifest = json.loads(spread.with_name("ray.manifest.json").read_text())
    reported = manifest["this_run"]["backends"]
    assert [b["name"] for b in reported] == ["cai-test-0", "cai-test-1"]
    assert sum(b["requests"] for b in reported) == sum(len(r.answered) for r in run["replicas"])


def test_score_and_eval_on_replicas_from_the_environment(
    fake_cluster: list[dict[str, Any]], fake_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_lines(
        tmp_path / "rows.jsonl",
        [
            json.dumps({"prompt": "q", "chosen": "a good answer", "rejected": "a bad answer"}),
            json.dumps({"prompt": "q", "response": "an answer"}),
        ],
    )
    m = ("--model", str(fake_model_dir))
    assert invoke("score", str(data), "-o", str(tmp_path / "local.jsonl"), *m).exit_code == 0
    monkeypatch.setenv("CAI_RAY_ADDRESS", "auto")
    result = invoke("score", str(data), "-o", str(tmp_path / "ray.jsonl"), *m)
    assert result.exit_code == 0, result.stderr
    assert rows(tmp_path / "ray.jsonl") == rows(tmp_path / "local.jsonl")
    prompts = write_lines(tmp_path / "p.txt", ["Question one?", "Question two?"])
    sides = ["--model-a", str(fake_model_dir), "--model-b", str(fake_model_dir), "--seed-b", "1", "--principles", "2"]
    sides += ["--judge-model", str(fake_model_dir)]
    result = invoke("eval", str(prompts), "-o", str(tmp_path / "eval-ray.jsonl"), *sides, "--replicas", "2")
    assert result.exit_code == 0, result.stderr
    monkeypatch.delenv("CAI_RAY_ADDRESS")
    assert invoke("eval", str(prompts), "-o", str(tmp_path / "eval-local.jsonl"), *sides).exit_code == 0
    assert read_rows(tmp_path / "eval-ray.jsonl") == read_rows(tmp_path / "eval-local.jsonl")
    assert [run["cluster"].address for run in fake_cluster] == ["auto", "auto"]  # one start per run: roles share it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ray", "auto", "--server", "http://127.0.0.1:9"), "--ray and --server"),
        (
            (
                "--replicas",
                "2",
            ),
            "--replicas needs --ray ADDRESS",
        ),
        (
            (
                "--replica-gpus",
                "1",
            ),
            "--replica-gpus needs --ray ADDRESS",
        ),
        (("--ray", "not an address"), "expected HOST:PORT of a running cluster"),
        (("--ray", "http://10.0.0.1:6379"), "expected HOST:PORT of a running cluster"),
    ],
)
def test_bad_ray_options_stop_before_any_work(
    fake_cluster: list[dict[str, Any]], prompts: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "pairs.jsonl"
    result = invoke("revise", str(prompts), "-o", str(out), *args)
    assert result.exit_code == 2, result.stderr
    assert message in " ".join(result.stderr.split())
    assert not out.exists() and not fake_cluster


def test_without_ray_installed_the_run_says_how_to_install_it(
    prompts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    result = invoke("score", str(prompts), "-o", str(tmp_path / "out.jsonl"), "--ray", "auto")
    assert result.exit_code == 2
    assert "pip install 'cai[ray]'" in result.stderr


def test_a_cluster_address_where_nothing_answers_is_exit_2(prompts: Path, tmp_path: Path, fake_model_dir: Path) -> None:
    port = free_port()  # nothing listens there: the check fails before Ray tries to join
    out = tmp_path / "pairs.jsonl"
    result = invoke(
        "revise", str(prompts), "-o", str(out), "--model", str(fake_model_dir), "--ray", f"127.0.0.1:{port}"
    )
    assert result.exit_code == 2, result.stderr
    assert f"--ray 127.0.0.1:{port}: nothing answers there" in " ".join(result.stderr.split())
    assert list(tmp_path.glob("pairs*")) == []  # found before any file is written


def test_every_replica_gone_exits_1_keeps_finished_rows_and_an_in_process_rerun_resumes(
    prompts: Path, fake_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def start(
        cluster: RayCluster,
        engine_factory: Factory,
        path: str,
        engine_args: Mapping[str, str],
        label: str,
        embedded: bool,
        settings: ReplicaSettings,
        note: Any,
    ) -> ReplicaEngine:
        dying = [  # each answers 5 requests, then its process dies for good
            FakeReplica(
                f"cai-test-{n}",
                model_name=label,
                engine=engine_factory(path, engine_args, label),  # type: ignore[arg-type]
                restart_after=None,
                faults=deque(["ok"] * 4 + ["die_after"]),
            )
            for n in range(cluster.replicas)
        ]
        return ReplicaEngine(dying, replace(settings, readmission=Readmission(0.05, 0.2, 0.5)), note)

    monkeypatch.setattr("cai.engines.ray.start_replicas", start)
    select_engine(monkeypatch, lambda path, args, label: ScriptedEngine(model_name=label))
    out = tmp_path / "pairs.jsonl"
    args = (
        "revise",
        str(prompts),
        "-o",
        str(out),
        "--model",
        str(fake_model_dir),
        "--rounds",
        "1",
        "--chunk-size",
        "1",
    )
    result = invoke(*args, "--ray", "local", "--replicas", "2")
    assert result.exit_code == 1, result.stderr
    assert "every replica was taken out" in result.stderr and "rerun" in result.stderr
    done = rows(out)
    assert 1 <= len(done) < 6
    again = invoke(*args)  # in-process this time: the same keys, so it resumes the --ray run
    assert again.exit_code == 0, again.stderr
    keys = [row["cai"]["key"] for row in rows(out)]
    assert len(keys) == 6 == len(set(keys))
    assert f"{len(done)} of 6 rows are already done" in again.stderr
