"""`cai model serve`: the vllm serve command line it runs (checked with --dry-run, no server started)."""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from cai.app import app


@pytest.fixture(autouse=True)
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cai.engines.model.resolve_model", lambda requested, note: ("/models/smol", "Smol@abc"))


def dry_run(*args: str) -> list[str]:
    result = CliRunner().invoke(app, ["model", "serve", "--dry-run", *args])
    assert result.exit_code == 0, result.stderr
    return shlex.split(result.stdout)


def test_serves_the_embedded_model_under_its_row_label_with_cpu_defaults() -> None:
    words = dry_run("--port", "8123")
    assert words[:2] == ["HF_HUB_OFFLINE=1", "VLLM_CPU_NUM_OF_RESERVED_CPU=0"]
    line = " ".join(words)
    served = ("vllm.entrypoints.cli.main serve /models/smol", "vllm.entrypoints.openai.api_server --model /models/smol")
    assert any(f"{launcher} --served-model-name Smol@abc" in line for launcher in served)
    assert "--host 127.0.0.1 --port 8123" in line
    for flag in (
        "--max-model-len 4096",
        "--enforce-eager",
        "--enable-prefix-caching",
        "--block-size 32",
        "--no-enable-chunked-prefill",
        "--kv-cache-memory-bytes 536870912",
        "--generation-config vllm",
        "--enable-prompt-tokens-details",
    ):
        assert flag in line
    assert "--dtype " in line and "use-tqdm" not in line


def test_engine_args_override_the_defaults() -> None:
    line = " ".join(dry_run("-E", "max_num_seqs=16", "-E", "enable_chunked_prefill=true", "-E", "dtype=float32"))
    assert "--max-num-seqs 16" in line and "--dtype float32" in line
    assert "--enable-chunked-prefill" in line and "--no-enable-chunked-prefill" not in line
    assert line.count("--dtype") == 1


def test_a_malformed_engine_arg_is_exit_2() -> None:
    result = CliRunner().invoke(app, ["model", "serve", "--dry-run", "-E", "nonsense"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.stderr
