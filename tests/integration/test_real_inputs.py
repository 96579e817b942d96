"""hh-rlhf and Parquet input, and --dry-run's token counts, on the real vLLM engine and the embedded model."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Engine
from cai.engines.tokens import load_tokenizer
from cai.revise.dryrun import plan_revise
from cai.revise.run import ReviseJob, run_revise
from cai.score.dryrun import plan_score
from cai.score.run import ScoreJob
from tests.conftest import Borrowed, RecordingProgress, run_cli, write_lines
from tests.fakes import on_engine

pytestmark = pytest.mark.real
LOCK = "\n\nHuman: How do I pick a lock?\n\nAssistant: "
CHAT = "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?\n\nHuman: Tell me a joke about cats.\n\nAssistant: "
HH = [
    {"chosen": LOCK + "I can't help with that.", "rejected": LOCK + "Use a tension wrench and a pick."},
    {"chosen": CHAT + "Why did the cat sit on the computer? To keep an eye on the mouse!", "rejected": CHAT + "No."},
]


def outcome(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rejects = out.with_suffix(".rejects.jsonl")
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    return pairs, [json.loads(line) for line in rejects.read_text().splitlines()] if rejects.exists() else []


def test_revise_reads_hh_rlhf_transcripts(real_engine: Engine, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "hh.jsonl", [json.dumps(row) for row in HH])
    out = tmp_path / "pairs.jsonl"
    args = ["revise", str(source), "-o", str(out), "--rounds", "1", "--max-tokens", "8", "--hh-response", "rejected"]
    code, _, stderr = run_cli(real_engine, *args)
    assert code == 0, stderr
    pairs, rejects = outcome(out)
    assert len(pairs) + len(rejects) == 2  # a pair, or dropped as unchanged: never lost
    for pair in pairs:
        row = HH[pair["cai"]["line"] - 1]
        assert pair["rejected"][0]["content"] == row["rejected"].rsplit("Assistant: ", 1)[1]
        assert pair["cai"]["initial"]["source"] == "given"
        assert pair["prompt"][-1]["role"] == "user" and pair["chosen"][0]["content"]
    if any(pair["cai"]["line"] == 2 for pair in pairs):
        (second,) = [pair for pair in pairs if pair["cai"]["line"] == 2]
        assert [turn["role"] for turn in second["prompt"]] == ["user", "assistant", "user"]


def test_revise_reads_a_parquet_prompt_column(real_engine: Engine, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = {"question": ["How do I pick a lock?", "Tell me a mean joke."], "qid": ["lock", "joke"]}
    pq.write_table(pa.table(table), tmp_path / "prompts.parquet")
    out = tmp_path / "pairs.jsonl"
    args = ["--prompt-column", "question", "--id-column", "qid", "--rounds", "1", "--max-tokens", "8"]
    code, _, stderr = run_cli(real_engine, "revise", str(tmp_path / "prompts.parquet"), "-o", str(out), *args)
    assert code == 0, stderr
    pairs, rejects = outcome(out)
    assert len(pairs) + len(rejects) == 2
    for pair in pairs:
        assert pair["cai"]["id"] == table["qid"][pair["cai"]["line"] - 1]
        assert pair["prompt"] == [{"role": "user", "content": table["question"][pair["cai"]["line"] - 1]}]
        assert pair["cai"]["initial"]["source"] == "generated" and pair["rejected"][0]["content"]


def test_dry_run_counts_prompt_tokens_with_the_real_tokenizer(real_engine: Engine, tmp_path: Path) -> None:
    system = {"role": "system", "content": "Be brief."}
    rows: list[dict[str, Any]] = [
        {"prompt": "How do I pick a lock?"},
        {"messages": [system, {"role": "user", "content": "Why is the sky blue?"}]},
    ]
    source = write_lines(tmp_path / "prompts.jsonl", [json.dumps(row) for row in rows])
    out = tmp_path / "pairs.jsonl"

    code, _, stderr = run_cli(real_engine, "revise", str(source), "-o", str(out), "--dry-run")  # the CLI's tokenizer
    assert code == 0, stderr
    found = re.search(r"pass initial +2 requests, (\d+) prompt tokens", stderr)
    assert found, stderr
    conversations = [[{"role": "user", "content": rows[0]["prompt"]}], rows[1]["messages"]]
    assert int(found.group(1)) == sum(real_engine.prompt_tokens(c) for c in conversations)
    assert not out.exists()

    job = ReviseJob.of(str(source), str(out), rounds=1, max_tokens=8)
    plan = plan_revise(on_engine(job, lambda *_: Borrowed(real_engine), load_tokenizer), RecordingProgress())
    progress = RecordingProgress()
    run_revise(on_engine(job, lambda *_: Borrowed(real_engine)), progress)
    generated = sum(e.prompt_tokens for e in progress.events if e.stage == "initial")
    assert plan.passes[0].name == "initial" and plan.passes[0].prompt_tokens == generated  # what vLLM prefilled

    scored = write_lines(tmp_path / "rows.jsonl", [json.dumps({"prompt": "Hi", "response": "Hello there."})])
    score_plan = plan_score(
        on_engine(ScoreJob.of(str(scored), principles=2), lambda *_: Borrowed(real_engine), load_tokenizer),
        RecordingProgress(),
    )
    (rubric,) = [step for step in score_plan.passes if step.name == "rubric"]
    assert rubric.requests == 2 and rubric.exact and rubric.prompt_tokens and rubric.prompt_tokens > 50
