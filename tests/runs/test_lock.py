"""One writer per output: a second process on the same -o is refused at once, naming the holder's PID.

The lock is the OS's (flock): a holder killed with SIGKILL leaves no stale lock behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from cai.app import app
from cai.runs import lock
from cai.runs.ledger import OutputPaths
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine
from tests.integration.test_crash_resume import ROOT, keys_and_lines, start

PROMPTS = [f"prompt number {i}" for i in range(12)]


def test_a_second_writer_is_refused_naming_the_holder(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = write_lines(tmp_path / "p.txt", PROMPTS)
    out = tmp_path / "out" / "pairs.jsonl"
    args = ["revise", str(prompts), "-o", str(out), "-m", str(fake_model_dir)]
    with lock.holding(OutputPaths.for_output(str(out))):
        refused = CliRunner().invoke(app, args)
        assert refused.exit_code == 2, refused.output
        assert f"(PID {os.getpid()})" in refused.stderr and str(out) in refused.stderr
        assert not out.exists() and not use_fake_engine.batches  # nothing read, nothing generated
    assert not (tmp_path / "out" / "pairs.lock").exists()  # released and removed
    finished = CliRunner().invoke(app, args)
    assert finished.exit_code == 0, finished.output
    assert len(out.read_text().splitlines()) == len(PROMPTS)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    paths = OutputPaths.for_output(str(tmp_path / "pairs.jsonl"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "pairs.jsonl")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "cli")},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    try:
        with lock.holding(paths):
            raise AssertionError("the lock was taken while its holder lived")
    except Exception as refused:
        assert f"PID {holder.pid}" in str(refused)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert paths.lock is not None and paths.lock.exists()  # the file stays behind; the lock does not
    with lock.holding(paths):
        assert paths.lock.read_text().strip() == str(os.getpid())


HOLD = """
import sys, time
from cai.runs import lock
from cai.runs.ledger import OutputPaths
with lock.holding(OutputPaths.for_output(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_two_processes_on_one_output_write_every_row_once(tmp_path: Path) -> None:
    """As a CI retry or a command started twice does: both start; one writes, the other is refused at once."""
    prompts = write_lines(tmp_path / "p.txt", PROMPTS)
    out = tmp_path / "pairs.jsonl"
    args = [str(prompts), "-o", str(out), "--chunk-size", "2"]
    first = start(args, delay=0.3)  # slow enough to still be writing when the second one starts
    lock_file = tmp_path / "pairs.lock"
    deadline = time.monotonic() + 60
    while not (lock_file.exists() and lock_file.read_text().strip() == str(first.pid)):  # first holds the output
        assert time.monotonic() < deadline and first.poll() is None, "the first process never took the lock"
        time.sleep(0.01)
    second = start(args, delay=0.05)
    _, second_err = second.communicate(timeout=60)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 2, second_err
    assert f"PID {first.pid}" in second_err and "another cai process" in second_err
    keys, _ = keys_and_lines(out)
    assert len(keys) == len(set(keys)) == len(PROMPTS)
    manifest = json.loads(out.with_name("pairs.manifest.json").read_text())
    assert manifest["status"] == "complete"
