"""Real processes, real files: kill -9 at random points, Ctrl-C and SIGTERM, then resume.

These run `cai` on the scripted engine (tests/integration/fake_cai.py) so many kills fit in a few
seconds; test_real_faults.py does the same on the real vLLM engine.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_lines

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [f"prompt number {i}" for i in range(30)]


def start(args: list[str], delay: float = 0.03) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.fake_cai", "revise", *args, "-q"],
        cwd=Path.cwd(),  # the test's own folder (conftest), never the checkout
        env={**os.environ, "CAI_FAKE_DELAY": str(delay), "PYTHONPATH": os.pathsep.join([str(ROOT / "cli"), str(ROOT)])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(args: list[str]) -> None:
    process = start(args, delay=0)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr


def keys_and_lines(path: Path) -> tuple[list[str], list[str]]:
    lines = path.read_text().splitlines()
    return [json.loads(line)["cai"]["key"] for line in lines], lines


def wait_for_rows(path: Path, rows: int, process: subprocess.Popen[str], timeout: float = 60) -> bool:
    """True once the file holds `rows` rows; False if the process ended before that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= rows:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {rows} rows")


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "prompts.txt", PROMPTS)


@pytest.fixture
def reference(inputs: Path, tmp_path: Path, fake_model_dir: Path) -> list[str]:
    out = tmp_path / "reference" / "pairs.jsonl"
    finish([str(inputs), "-o", str(out), "--model", str(fake_model_dir), "--chunk-size", "2"])
    return sorted(out.read_text().splitlines())


def test_kill_9_at_random_points_then_resume(
    inputs: Path, tmp_path: Path, fake_model_dir: Path, reference: list[str]
) -> None:
    out = tmp_path / "killed" / "pairs.jsonl"
    args = [str(inputs), "-o", str(out), "--model", str(fake_model_dir), "--chunk-size", "2"]
    rng = random.Random(20261126)
    kills = 0
    while kills < 20:
        rows_before = out.read_text().count("\n") if out.exists() else 0
        process = start(args, delay=0.05)
        if not wait_for_rows(out, rows_before + 1, process):
            break  # it finished on its own
        time.sleep(rng.uniform(0, 0.2))  # a random point in a later chunk: mid-call, mid-write, or between
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        text = out.read_text()  # every line on disk after a kill is a whole row (a torn tail is cut on resume)
        assert all(json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines())
    assert kills >= 5
    finish(args)
    keys, lines = keys_and_lines(out)
    assert len(keys) == len(set(keys)) == len(PROMPTS)
    assert sorted(lines) == reference
    assert json.loads((tmp_path / "killed" / "pairs.manifest.json").read_text())["status"] == "complete"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_first_signal_stops_cleanly_and_resume_completes(
    inputs: Path, tmp_path: Path, fake_model_dir: Path, reference: list[str], signum: int, code: int
) -> None:
    out = tmp_path / "stopped" / "pairs.jsonl"
    args = [str(inputs), "-o", str(out), "--model", str(fake_model_dir), "--chunk-size", "2"]
    process = start(args, delay=0.1)
    assert wait_for_rows(out, 2, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code
    assert "rerun the same command to resume" in stderr
    manifest = json.loads((tmp_path / "stopped" / "pairs.manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    keys, _ = keys_and_lines(out)
    assert 2 <= len(keys) < len(PROMPTS) and len(keys) == len(set(keys))
    assert out.read_text().endswith("\n")
    finish(args)
    assert sorted(out.read_text().splitlines()) == reference


def test_second_signal_exits_at_once(inputs: Path, tmp_path: Path, fake_model_dir: Path) -> None:
    out = tmp_path / "twice" / "pairs.jsonl"
    process = start([str(inputs), "-o", str(out), "--model", str(fake_model_dir), "--chunk-size", "2"], delay=0.1)
    assert wait_for_rows(out, 2, process)
    os.kill(process.pid, signal.SIGSTOP)  # hold it so both signals arrive before it runs again
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGTERM)
    os.kill(process.pid, signal.SIGCONT)
    process.communicate(timeout=30)
    assert process.returncode == 143  # the second signal's immediate exit, not the first one's clean 130
    manifest = json.loads((tmp_path / "twice" / "pairs.manifest.json").read_text())
    assert manifest["status"] == "running"  # no cleanup ran after the second signal
