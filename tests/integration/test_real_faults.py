"""Faults on the real vLLM engine: kill -9 and Ctrl-C mid-generation, engine start failure, long prompts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cai.engines import Engine
from cai.revise.run import ReviseJob, prepare
from tests.conftest import RecordingProgress, run_cli, wait_for_first_row, write_lines

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "prompts" / "sample.jsonl"
CAI = str(Path(sys.executable).parent / "cai")
ARGS = ["--chunk-size", "2", "--max-tokens", "24", "-q"]


def start(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CAI, "revise", str(SAMPLE), "-o", str(out), *ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def expected_keys(tmp_path: Path) -> set[str]:
    job = ReviseJob.of(prompts=str(SAMPLE), output=str(tmp_path / "fresh" / "x.jsonl"), chunk_size=2, max_tokens=24)
    run = prepare(job, RecordingProgress())
    return {r.key for r in run.todo} | {r.key for r in run.new_rejects}


def finished_keys(out: Path) -> list[str]:
    pairs = [json.loads(line)["cai"]["key"] for line in out.read_text().splitlines()]
    rejects_file = out.with_name(out.stem + ".rejects.jsonl")
    rejects = (
        [json.loads(line)["key"] for line in rejects_file.read_text().splitlines()] if rejects_file.exists() else []
    )
    return pairs + rejects


def run_cai(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAI, *args], capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )


def resume(engine: Engine, out: Path) -> None:
    """The rerun, on the session's engine: what is tested is the stopped process's files, not a second load.

    Every record left is in flight at once (the chunk size decides no row's content, only how many run together)."""
    code, _, stderr = run_cli(engine, "revise", str(SAMPLE), "-o", str(out), *ARGS, "--chunk-size", "8")
    assert code == 0, stderr


def test_ctrl_c_mid_generation_then_resume(real_engine: Engine, tmp_path: Path) -> None:
    """SIGINT: the clean stop with vLLM's threads running. SIGKILL at random points, and the torn last line it
    leaves, is tests/integration/test_crash_resume.py's: a real cai process on the fake engine (where the process
    dies decides what is on disk, not which engine it ran)."""
    out = tmp_path / "pairs.jsonl"
    process = start(out)
    wait_for_first_row(out, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    done_before = finished_keys(out)
    assert done_before and len(done_before) < 8
    assert json.loads((tmp_path / "pairs.manifest.json").read_text())["status"] == "interrupted"
    resume(real_engine, out)
    keys = finished_keys(out)
    assert len(keys) == len(set(keys))
    assert set(keys) == expected_keys(tmp_path)
    assert set(done_before) <= set(keys)
    assert json.loads((tmp_path / "pairs.manifest.json").read_text())["status"] == "complete"


def test_engine_start_failure_names_the_option(tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["hello"])
    result = run_cai("revise", str(prompts), "-E", "kv_cache_memory_bytes=1024")
    assert result.returncode == 1
    assert "kv_cache_memory_bytes" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_model_name_offline_fails_before_vllm_loads(tmp_path: Path) -> None:
    """HF_HUB_OFFLINE from the environment, as a user sets it: exit 2 with a pointer, and no engine start."""
    prompts = write_lines(tmp_path / "p.txt", ["hello"])
    result = run_cai("revise", str(prompts), "--model", "no-such-org/no-such-model")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "could not load model 'no-such-org/no-such-model'" in message and "--model" in message
    assert "loading" not in result.stderr and "Traceback" not in result.stderr


def test_too_long_prompt_is_quarantined_by_the_real_tokenizer(real_engine: Engine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.jsonl", ['{"prompt": "Say hi."}', json.dumps({"prompt": "lorem " * 5000})])
    out = tmp_path / "pairs.jsonl"
    code, _, stderr = run_cli(real_engine, "revise", str(prompts), "-o", str(out), "--max-tokens", "16")
    assert code == 0, stderr
    (entry,) = [json.loads(line) for line in (tmp_path / "pairs.rejects.jsonl").read_text().splitlines()]
    assert entry["line"] == 2 and entry["reason"] == "prompt_too_long"
    assert f"> max_model_len {real_engine.max_model_len}" in entry["detail"]
    assert "prompt_too_long" in stderr
