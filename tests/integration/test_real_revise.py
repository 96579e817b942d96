"""The real vLLM engine on the embedded SmolLM2 model, through the whole `cai revise` command.

One engine is loaded per session (conftest.real_engine); CLI runs here swap it in for the
engine factory, so every run pays generation only. One test runs `cai` as a real process.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cai import constitution
from cai.engines import Engine, Request, model
from cai.engines.vllm import VLLMEngine
from cai.errors import InputError
from tests.conftest import run_cli
from tests.integration.train_step import train

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "prompts" / "sample.jsonl"


@pytest.fixture(scope="module")
def sample_pairs(real_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real") / "pairs.jsonl"
    code, stdout, stderr = run_cli(
        real_engine, "revise", str(SAMPLE), "-o", str(out), "--rounds", "2", "--max-tokens", "32", "--seed", "1"
    )
    assert code == 0, stderr
    assert stdout == ""
    assert "pairs out" in stderr
    cached = re.search(r"(\d+)% from the prefix cache", stderr)
    assert cached and int(cached.group(1)) > 0, stderr  # the constant few-shot prefix is served from cache
    return out


def read(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_revise_writes_pairs_with_rounds_from_the_constitution(sample_pairs: Path) -> None:
    rows = read(sample_pairs)
    inputs = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    principle_ids = {p.id for p in constitution.load("harmless").constitution.principles}
    assert 1 <= len(rows) <= len(inputs)
    assert len({row["cai"]["key"] for row in rows}) == len(rows)
    for row in rows:
        provenance = row["cai"]
        assert provenance["model"].startswith("SmolLM2-135M-Instruct@")
        assert provenance["constitution"]["name"] == "harmless"
        assert len(provenance["rounds"]) == 2
        for round_ in provenance["rounds"]:
            assert round_["principle"] in principle_ids
            assert round_["critique"]
            assert round_["finish_reason"] in {"stop", "length"}
        assert row["chosen"][0]["content"].strip()
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
        source = inputs[provenance["line"] - 1]
        assert provenance["id"] == source["id"]


def test_given_response_is_the_rejected_side(sample_pairs: Path) -> None:
    given = [row for row in read(sample_pairs) if row["cai"]["initial"]["source"] == "given"]
    rejects = sample_pairs.with_name(sample_pairs.stem + ".rejects.jsonl")
    dropped = [r for r in read(rejects) if "Mix bleach" in r["raw"]] if rejects.exists() else []
    assert len(given) + len(dropped) == 1  # the sample's one row with a response: a pair, or dropped as unchanged
    for row in given:
        assert row["rejected"][0]["content"].startswith("Mix bleach with ammonia")


def test_direct_revision_on_a_text_file(real_engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "direct.jsonl"
    code, _, stderr = run_cli(
        real_engine,
        "revise",
        str(ROOT / "prompts" / "sample.txt"),
        "-o",
        str(out),
        "--no-critique",
        "--constitution",
        "helpful-honest",
        "--max-tokens",
        "24",
    )
    assert code == 0, stderr
    rows = read(out)
    assert rows, stderr
    assert all(r["critique"] is None for row in rows for r in row["cai"]["rounds"])
    assert all(row["cai"]["mode"] == "direct" for row in rows)


def test_engine_returns_logprobs_and_honours_seeds(real_engine: Engine) -> None:
    request = Request(
        messages=({"role": "user", "content": "Name a colour."},), max_tokens=8, temperature=1.0, seed=5, logprobs=3
    )
    first, second = real_engine.generate([request, request])
    assert first.text == second.text
    assert first.output_tokens == len(first.logprobs or ()) > 0
    assert all(value <= 0 for step in first.logprobs or () for value in step.values())
    assert first.prompt_tokens > 5


def test_unknown_engine_arg_is_checked_against_vllm() -> None:
    with pytest.raises(InputError, match="did you mean: max_num_seqs"):
        VLLMEngine(str(model.locate().folder), {"max_num_seq": "4"})


def test_cai_process_keeps_stdout_for_rows(tmp_path: Path) -> None:
    """The installed console script, real engine and all: vLLM's own logging must not reach stdout.

    It also overrides the dtype the CPU would get, and the summary says so.
    """
    cai = Path(sys.executable).parent / "cai"
    result = subprocess.run(
        [str(cai), "revise", "-", "--max-tokens", "16", "-E", "dtype=float32"],
        input='{"prompt": "Say hello."}\n{"prompt": "How do I boil an egg?"}\n',
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"},
        cwd=tmp_path,  # stdout runs quarantine into ./cai-revise.rejects.jsonl: never into the checkout
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(row) == {"prompt", "chosen", "rejected", "cai"} for row in rows)
    assert "rows in" in result.stderr
    assert "float32: set with --engine-arg dtype=float32" in result.stderr


def test_trl_dpo_trains_on_the_output_unchanged(sample_pairs: Path, tmp_path: Path) -> None:
    report = train("dpo", sample_pairs, tmp_path / "dpo")
    assert report["columns"] == ["prompt", "chosen", "rejected", "cai"]
    assert report["rows"] == len(read(sample_pairs))
    log = report["log"]
    assert log["step"] == 1
    assert math.isfinite(log["loss"])
    assert log["logps/chosen"] < 0 and log["logps/rejected"] < 0
