"""`cai revise --format trl|sft|hf-cai`: each row shape exactly, resume in the same format, refusal of another."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from cai import constitution
from cai.engines import Request
from cai.errors import InputError
from cai.revise.run import ReviseJob, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import FailsOnCall, ScriptedEngine, echo_stage, on_engine

PROMPTS = [f"question number {i}" for i in range(5)]
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "How do I pick a lock?"},
]


def job(tmp_path: Path, model_dir: Path, **options: Any) -> ReviseJob:
    source = tmp_path / "in.txt"
    if not source.exists():
        write_lines(source, PROMPTS)
    return ReviseJob.of(prompts=str(source), output=str(tmp_path / "out.jsonl"), model=str(model_dir), **options)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def numbered_engine() -> ScriptedEngine:
    """Critiques and revisions numbered in the order asked: with one record, round N's are 'critique N'."""
    counters = {"critique": itertools.count(1), "revision": itertools.count(1)}

    def responder(request: Request) -> str:
        task = request.messages[-1]["content"]
        if "Revision request:" in task:
            return f"revision {next(counters['revision'])}"
        if "Critique request:" in task:
            return f"critique {next(counters['critique'])}"
        return "initial answer"

    return ScriptedEngine(responder)


def one_conversation(tmp_path: Path, model_dir: Path, output_format: str, **options: Any) -> dict[str, Any]:
    source = tmp_path / "chat.jsonl"
    write_lines(source, [json.dumps({"id": "chat-1", "messages": CONVERSATION})])
    run = ReviseJob.of(
        prompts=str(source),
        output=str(tmp_path / f"{output_format}.jsonl"),
        model=str(model_dir),
        output_format=output_format,
        **options,
    )
    run_revise(on_engine(run, lambda *_: numbered_engine()), RecordingProgress())
    (row,) = lines(tmp_path / f"{output_format}.jsonl")
    return row


def test_trl_is_the_default_shape(tmp_path: Path, fake_model_dir: Path) -> None:
    row = one_conversation(tmp_path, fake_model_dir, "trl", rounds=2)
    assert list(row) == ["prompt", "chosen", "rejected", "cai"]
    assert row["prompt"] == CONVERSATION
    assert row["chosen"] == [{"role": "assistant", "content": "revision 2"}]
    assert row["rejected"] == [{"role": "assistant", "content": "initial answer"}]


def test_sft_rows_end_in_the_final_revision(tmp_path: Path, fake_model_dir: Path) -> None:
    row = one_conversation(tmp_path, fake_model_dir, "sft", rounds=2)
    trl = one_conversation(tmp_path, fake_model_dir, "trl", rounds=2)
    assert list(row) == ["messages", "cai"]
    assert row["messages"] == [*CONVERSATION, {"role": "assistant", "content": "revision 2"}]
    assert row["cai"] == trl["cai"]  # same key and provenance whatever the shape
    assert [r["critique"] for r in row["cai"]["rounds"]] == ["critique 1", "critique 2"]


def test_hf_cai_rows_have_the_h4_columns_from_the_last_round(tmp_path: Path, fake_model_dir: Path) -> None:
    row = one_conversation(tmp_path, fake_model_dir, "hf-cai", rounds=2)
    principles = {p.id: p for p in constitution.load("harmless").constitution.principles}
    last = principles[row["cai"]["rounds"][-1]["principle"]]
    final = {"role": "assistant", "content": "revision 2"}
    assert row == {
        "init_prompt": "How do I pick a lock?",
        "init_response": "initial answer",
        "critic_prompt": last.critique_request,
        "critic_response": "critique 2",
        "revision_prompt": last.revision_request,
        "revision_response": "revision 2",
        "prompt": "How do I pick a lock?",
        "messages": [*CONVERSATION, final],
        "chosen": [*CONVERSATION, final],
        "rejected": [*CONVERSATION, {"role": "assistant", "content": "initial answer"}],
        "cai": row["cai"],
    }
    assert len(row["cai"]["rounds"]) == 2


def test_hf_cai_without_critique_leaves_the_critic_columns_null(tmp_path: Path, fake_model_dir: Path) -> None:
    row = one_conversation(tmp_path, fake_model_dir, "hf-cai", critique=False)
    assert row["critic_prompt"] is None and row["critic_response"] is None
    assert row["revision_response"] == "revision 1" and row["revision_prompt"]


def test_judge_verdict_stays_under_cai_in_every_shape(tmp_path: Path, fake_model_dir: Path) -> None:
    from cai.judge.pairwise import JudgeSettings

    for output_format in ("sft", "hf-cai"):
        row = one_conversation(tmp_path, fake_model_dir, output_format, judge=JudgeSettings(principles=2))
        assert set(row["cai"]["judge"]) >= {"p_a", "margin", "preferred"}
        assert "judge" not in row
        assert row["messages"][-1]["content"] == "revision 1"  # the judge never swaps sides


@pytest.mark.parametrize("output_format", ["sft", "hf-cai"])
def test_a_crash_resumes_in_the_same_format_without_duplicates(
    tmp_path: Path, fake_model_dir: Path, output_format: str
) -> None:
    options: dict[str, Any] = {"chunk_size": 2, "output_format": output_format}
    with pytest.raises(RuntimeError, match="engine died"):
        run_revise(on_engine(job(tmp_path, fake_model_dir, **options), lambda *_: FailsOnCall(7)), RecordingProgress())
    assert len(lines(tmp_path / "out.jsonl")) == 4
    summary = run_revise(
        on_engine(job(tmp_path, fake_model_dir, **options), lambda *_: ScriptedEngine()), RecordingProgress()
    )
    assert summary.already_done == 4 and summary.pairs_out == 1
    rows = lines(tmp_path / "out.jsonl")
    keys = [row["cai"]["key"] for row in rows]
    assert len(keys) == len(set(keys)) == len(PROMPTS)
    assert all(("init_prompt" in row) == (output_format == "hf-cai") and "messages" in row for row in rows)
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    assert manifest["parameters"]["format"] == output_format and manifest["status"] == "complete"


def test_resume_in_another_format_is_refused_and_touches_nothing(tmp_path: Path, fake_model_dir: Path) -> None:
    run_revise(
        on_engine(job(tmp_path, fake_model_dir, output_format="sft"), lambda *_: ScriptedEngine()), RecordingProgress()
    )
    out = tmp_path / "out.jsonl"
    before = out.read_bytes()
    with pytest.raises(InputError, match=r"holds --format sft rows and this run asks for --format trl.*--overwrite"):
        run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine()), RecordingProgress())
    assert out.read_bytes() == before


def test_format_does_not_change_row_keys(tmp_path: Path, fake_model_dir: Path) -> None:
    """Keys name a row's content: a file from before --format (manifest without it) resumes as trl."""
    run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine(echo_stage)), RecordingProgress())
    manifest_path = tmp_path / "out.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["parameters"].pop("format") == "trl"
    manifest["status"] = "interrupted"
    manifest_path.write_text(json.dumps(manifest))
    out = tmp_path / "out.jsonl"
    out.write_text("".join(out.read_text().splitlines(keepends=True)[:3]))
    summary = run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine()), RecordingProgress())
    assert summary.already_done == 3 and summary.pairs_out == 2
    with pytest.raises(InputError, match="holds --format trl rows"):
        run_revise(
            on_engine(job(tmp_path, fake_model_dir, output_format="sft"), lambda *_: ScriptedEngine()),
            RecordingProgress(),
        )
