"""A real `cai eval` process killed with SIGKILL at random points, answering or judging, then resumed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.evaluation.helpers import B_TOKENS, case_prompts

ROOT = Path(__file__).resolve().parents[2]
CASES = [("b", 100, "x"), ("a", -50, "y"), ("tie", 20, "x")] * 6


def start(args: list[str], delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.evaluation.slow_eval", "eval", *args, "-q"],
        cwd=Path.cwd(),
        env={**os.environ, "CAI_FAKE_DELAY": str(delay), "PYTHONPATH": os.pathsep.join([str(ROOT / "cli"), str(ROOT)])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(args: list[str]) -> None:
    process = start(args, delay=0)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr


def lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def test_kill_9_while_answering_or_judging_then_resume(tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl", CASES)
    m = str(fake_model_dir)
    common = [str(prompts), "--model-a", m, "--model-b", m, "--judge-model", m, "--max-tokens-b", str(B_TOKENS),
              "--chunk-size", "2", "--principles", "2"]  # fmt: skip
    reference = tmp_path / "reference" / "eval.jsonl"
    finish([*common, "-o", str(reference)])
    out = tmp_path / "killed" / "eval.jsonl"
    answers = tmp_path / "killed" / "eval.answers.jsonl"
    rng = random.Random(20261126)
    kills = judging = 0
    while kills < 16:
        progress = lines(out) + lines(answers)
        process = start([*common, "-o", str(out)], delay=0.04)
        deadline = time.monotonic() + 60
        while lines(out) + lines(answers) <= progress and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.15))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        judging += lines(answers) == 2 * len(CASES)  # every answer made: this kill hit the judging phase
    assert kills >= 4 and judging >= 1, (kills, judging)
    finish([*common, "-o", str(out)])
    assert sorted(out.read_text().splitlines()) == sorted(reference.read_text().splitlines())
    keys = [json.loads(line)["key"] for line in answers.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 2 * len(CASES)  # no answer is cached twice: a rerun never redoes what it has
    assert json.loads((tmp_path / "killed" / "eval.manifest.json").read_text())["status"] == "complete"
