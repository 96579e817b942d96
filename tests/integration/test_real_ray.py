"""`--ray` on a real two-node Ray cluster on this machine (tests.integration.ray_cluster), the embedded model
in every replica.

Every run ends every record under the key the in-process engine gives it, and a rerun of either resumes
the other. As in tests/integration/test_real_servers.py, where a record ended is compared, not its text:
the replicas batch other sets of records than one in-process engine does, bf16 rounds a batch's sums
differently, and a 16-token seeded sample can then change, so a record can end as a pair in one run and
as "unchanged" in the other. The record's key, which names the input row and every setting, cannot.
Score and eval are compared with an in-process run; the node-loss run's 32 records with the keys the
in-process run's prepare step gives them (the same keys, without generating the 32 records once more).
Score and eval run on one replica each (a model load costs the session ~7 s of both cores); the
node-loss test runs two, one on each node. Losing the worker node mid-run loses and duplicates nothing.
It must stay the last test in this file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine
from cai.revise.run import ReviseJob, prepare
from tests.conftest import RecordingProgress, run_cli, wait_for_first_row
from tests.integration.ray_cluster import RayTestCluster
from tests.integration.test_real_servers import ended, read, run_cli_plain

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "prompts" / "sample.jsonl"
SCORE_ROWS = ROOT / "prompts" / "sample-score.jsonl"
EVAL_PROMPTS = ROOT / "prompts" / "sample-eval.jsonl"
REVISE = ("--rounds", "1", "--max-tokens", "16", "--seed", "3")  # in_process_keys prepares the same job
COPIES = 4  # the sample's 8 prompts four times (ids of their own): a run long enough to see a restart


def on(cluster: RayTestCluster, replicas: int) -> tuple[str, ...]:
    return ("--ray", cluster.address, "--replicas", str(replicas))


def test_score_on_replicas_writes_the_in_process_keys(
    ray_cluster: RayTestCluster, real_engine: Engine, tmp_path: Path
) -> None:
    local, spread = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    code, _, stderr = run_cli(real_engine, "score", str(SCORE_ROWS), "-o", str(local), "--principles", "2")
    assert code == 0, stderr
    code, stdout, stderr = run_cli_plain(
        "score", str(SCORE_ROWS), "-o", str(spread), "--principles", "2", *on(ray_cluster, 1)
    )
    assert code == 0, stderr
    assert stdout == ""  # rows go to -o; nothing of Ray's reaches stdout
    assert [r["scores"]["key"] for r in read(spread)] == [r["scores"]["key"] for r in read(local)]
    kinds = [r["scores"]["kind"] for r in read(spread)]
    assert kinds == [r["scores"]["kind"] for r in read(local)] and "pointwise" in kinds
    (replica,) = json.loads(spread.with_name("ray.manifest.json").read_text())["this_run"]["backends"]
    assert replica["kind"] == "replica" and replica["requests"] > 0 and replica["placement"].startswith("127.0.0.1")


def test_eval_on_replicas_writes_the_in_process_keys(
    ray_cluster: RayTestCluster, real_engine: Engine, tmp_path: Path
) -> None:
    local, spread = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    sides = ("--principles", "1", "--max-tokens-a", "16", "--max-tokens-b", "16", "--seed-b", "1")
    code, _, stderr = run_cli(real_engine, "eval", str(EVAL_PROMPTS), "-o", str(local), *sides)
    assert code == 0, stderr
    code, _, stderr = run_cli_plain("eval", str(EVAL_PROMPTS), "-o", str(spread), *sides, *on(ray_cluster, 1))
    assert code == 0, stderr
    assert [r["scores"]["key"] for r in read(spread)] == [r["scores"]["key"] for r in read(local)]
    assert [r["id"] for r in read(spread)] == [r["id"] for r in read(local)]
    assert "win rate B over A" in stderr


@pytest.fixture(scope="module")
def many_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [json.loads(line) for line in PROMPTS.read_text().splitlines()]
    path = tmp_path_factory.mktemp("prompts") / "prompts.jsonl"
    copies = [{**row, "id": f"{row['id']}-{copy}"} for copy in range(COPIES) for row in rows]
    path.write_text("".join(json.dumps(row) + "\n" for row in copies))
    return path


def in_process_keys(prompts: Path, tmp_path: Path) -> list[str]:
    """The key of every record as the in-process engine's run names them: its prepare step, which keys every row
    before any model work (every record ends under its key, as a pair or an entry beside OUT)."""
    job = ReviseJob.of(str(prompts), str(tmp_path / "in-process" / "pairs.jsonl"), rounds=1, max_tokens=16, seed=3)
    run = prepare(job, RecordingProgress())
    return [record.key for record in run.todo] + [entry.key for entry in run.new_rejects]


def test_revise_on_two_replicas_survives_losing_a_node(
    ray_cluster: RayTestCluster, many_prompts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    args = ["revise", str(many_prompts), "-o", str(out), *REVISE, "--chunk-size", "1", *on(ray_cluster, 2)]
    run = subprocess.Popen(
        [sys.executable, "-m", "cai", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_first_row(out, run, seconds=600)
        ray_cluster.lose_worker()  # every process of the worker node SIGKILLed: one replica is gone
        stdout, stderr = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
        ray_cluster.add_worker()  # the cluster whole again for whatever runs after
    assert run.returncode == 0, stderr
    assert stdout == ""
    placed = re.findall(r"replica (cai-\w+-\d) ready on 127\.0\.0\.1 node (\w+)", " ".join(stderr.split()))
    assert len(placed) == 2 and len({node for _, node in placed}) == 2  # spread: one replica on each node
    keys = ended(out)
    assert len(keys) == len(set(keys)) == 8 * COPIES  # every record once: nothing lost or written twice
    assert sorted(keys) == sorted(in_process_keys(many_prompts, tmp_path))
    manifest: dict[str, Any] = json.loads(out.with_name("pairs.manifest.json").read_text())
    assert manifest["status"] == "complete"
    lost = [r for r in manifest["this_run"]["backends"] if r["taken_out"]]
    assert len(lost) == 1, manifest["this_run"]["backends"]
    assert lost[0]["restarts"] >= 1 and lost[0]["requests_since_readmitted"] >= 1, lost  # back at work
    assert f"replica {lost[0]['name']} taken out" in " ".join(stderr.split())
    written = out.read_bytes()
    again = subprocess.run([sys.executable, "-m", "cai", *args], capture_output=True, text=True, env=dict(os.environ))
    assert again.returncode == 0, again.stderr
    assert f"{8 * COPIES} of {8 * COPIES} rows are already done" in again.stderr
    assert out.read_bytes() == written  # the same command again writes no row
