"""Nothing lost, nothing twice: accounting, quarantine, resume, torn lines, idempotent reruns."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cai.engines import Request
from cai.errors import InputError
from cai.revise.run import ReviseJob, Summary, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import FailsOnCall, ScriptedEngine, echo_stage, on_engine

PROMPTS = [f"question number {i}" for i in range(7)]


def job(tmp_path: Path, model_dir: Path, **options: Any) -> ReviseJob:
    source = tmp_path / "in.txt"
    if not source.exists():
        write_lines(source, PROMPTS)
    return ReviseJob.of(prompts=str(source), output=str(tmp_path / "out.jsonl"), model=str(model_dir), **options)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def accounted(summary: Summary) -> bool:
    rest = summary.already_done + summary.pairs_out
    return summary.rows_in == rest + sum(summary.dropped.values()) + sum(summary.quarantined.values())


def never_called(*_: object) -> ScriptedEngine:
    raise AssertionError("the engine must not be built")


def test_rerun_on_a_finished_output_does_nothing_and_changes_no_byte(tmp_path: Path, fake_model_dir: Path) -> None:
    first = run_revise(
        on_engine(job(tmp_path, fake_model_dir, chunk_size=3), lambda *_: ScriptedEngine()), RecordingProgress()
    )
    assert first.pairs_out == len(PROMPTS) and accounted(first)
    files = [tmp_path / "out.jsonl", tmp_path / "out.manifest.json"]
    before = [path.read_bytes() for path in files]
    again = run_revise(on_engine(job(tmp_path, fake_model_dir, chunk_size=3), never_called), RecordingProgress())
    assert again.already_done == len(PROMPTS) and again.pairs_out == 0 and accounted(again)
    assert [path.read_bytes() for path in files] == before


def test_manifest_records_the_run(tmp_path: Path, fake_model_dir: Path) -> None:
    run_revise(on_engine(job(tmp_path, fake_model_dir, seed=3), lambda *_: ScriptedEngine()), RecordingProgress())
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["parameters"]["seed"] == 3
    assert manifest["parameters"]["constitution"]["name"] == "harmless"
    assert manifest["counts"] == {"rows": len(PROMPTS), "rejects": 0}
    assert manifest["output_sha256"] == hashlib.sha256((tmp_path / "out.jsonl").read_bytes()).hexdigest()
    assert manifest["versions"]["cai"] and manifest["versions"]["model"] == str(fake_model_dir)
    assert manifest["engine"]["dtype"] == "float32" and manifest["engine"]["dtype_reason"] == "a scripted engine"
    assert manifest["engine"]["cpu"]  # the processor behind the run's speed


def test_a_crash_mid_run_resumes_without_loss_or_duplicates(tmp_path: Path, fake_model_dir: Path) -> None:
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    run_revise(
        on_engine(job(reference_dir, fake_model_dir, chunk_size=2), lambda *_: ScriptedEngine()), RecordingProgress()
    )

    with pytest.raises(RuntimeError, match="engine died"):
        run_revise(
            on_engine(job(tmp_path, fake_model_dir, chunk_size=2), lambda *_: FailsOnCall(7)), RecordingProgress()
        )
    assert len(lines(tmp_path / "out.jsonl")) == 4  # two chunks of two were finished (3 calls each)
    assert json.loads((tmp_path / "out.manifest.json").read_text())["status"] == "interrupted"

    resumed = ScriptedEngine()
    summary = run_revise(
        on_engine(job(tmp_path, fake_model_dir, chunk_size=2), lambda *_: resumed), RecordingProgress()
    )
    assert summary.already_done == 4 and summary.pairs_out == 3 and accounted(summary)
    assert len(resumed.batches[0]) == 2  # only unfinished records were sent
    assert sorted((tmp_path / "out.jsonl").read_text().splitlines()) == sorted(
        (reference_dir / "out.jsonl").read_text().splitlines()
    )


def test_a_torn_last_line_is_cut_and_redone(tmp_path: Path, fake_model_dir: Path) -> None:
    run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine()), RecordingProgress())
    out = tmp_path / "out.jsonl"
    complete = out.read_text().splitlines(keepends=True)
    out.write_text("".join(complete[:-2]) + complete[-2][:40])  # a crash while writing the 6th row
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    (tmp_path / "out.manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    progress = RecordingProgress()
    summary = run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine()), progress)
    assert summary.torn_lines == 1 and summary.pairs_out == 2 and accounted(summary)
    assert any("torn" in note for note in progress.notes)
    keys = [row["cai"]["key"] for row in lines(out)]
    assert len(keys) == len(set(keys)) == len(PROMPTS)
    assert sorted(out.read_text().splitlines(keepends=True)) == sorted(complete)


def test_resume_refuses_other_parameters(tmp_path: Path, fake_model_dir: Path) -> None:
    run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: ScriptedEngine()), RecordingProgress())
    with pytest.raises(InputError, match=r"other parameters \(seed: 0 then, 1 now\).*--overwrite"):
        run_revise(on_engine(job(tmp_path, fake_model_dir, seed=1), never_called), RecordingProgress())
    summary = run_revise(
        on_engine(job(tmp_path, fake_model_dir, seed=1, overwrite=True), echo_engine), RecordingProgress()
    )
    assert summary.pairs_out == len(PROMPTS)
    assert {row["cai"]["seed"] for row in lines(tmp_path / "out.jsonl")} == {1}


def echo_engine(*_: object) -> ScriptedEngine:
    return ScriptedEngine()


def test_an_output_without_manifest_is_not_appended_to(tmp_path: Path, fake_model_dir: Path) -> None:
    (tmp_path / "out.jsonl").write_text('{"some": "other file"}\n')
    with pytest.raises(InputError, match="has no manifest"):
        run_revise(on_engine(job(tmp_path, fake_model_dir), never_called), RecordingProgress())
    assert (tmp_path / "out.jsonl").read_text() == '{"some": "other file"}\n'


def test_prompts_too_long_are_quarantined_without_breaking_the_batch(tmp_path: Path, fake_model_dir: Path) -> None:
    write_lines(tmp_path / "in.txt", ["short one", "word " * 2000, "short two"])
    engine = ScriptedEngine(max_model_len=3000)
    summary = run_revise(
        on_engine(job(tmp_path, fake_model_dir, max_tokens=1500), lambda *_: engine), RecordingProgress()
    )
    assert summary.pairs_out == 2 and summary.quarantined == {"prompt_too_long": 1} and accounted(summary)
    (entry,) = lines(tmp_path / "out.rejects.jsonl")
    assert entry["line"] == 2 and entry["reason"] == "prompt_too_long" and "max_model_len 3000" in entry["detail"]
    assert all("word word" not in r.messages[-1]["content"] for r in engine.requests)


def test_empty_generations_are_retried_with_new_seeds_then_quarantined(tmp_path: Path, fake_model_dir: Path) -> None:
    write_lines(tmp_path / "in.txt", ["flaky", "silent", "fine"])
    calls: Counter[str] = Counter()

    def responder(request: Request) -> str:
        task = request.messages[-1]["content"]
        if task in ("flaky", "silent"):
            calls[task] += 1
            return "" if task == "silent" or calls[task] == 1 else "an answer"
        return echo_stage(request)

    engine = ScriptedEngine(responder)
    summary = run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: engine), RecordingProgress())
    assert calls == {"flaky": 2, "silent": 3}
    assert summary.pairs_out == 2 and summary.quarantined == {"empty_generation": 1} and accounted(summary)
    seeds = [r.seed for r in engine.requests if r.messages[-1]["content"] == "silent"]
    assert len(set(seeds)) == 3
    (entry,) = lines(tmp_path / "out.rejects.jsonl")
    assert entry["line"] == 2 and "empty after 3 attempts" in entry["detail"]


def test_repeated_rows_are_dropped_as_duplicates(tmp_path: Path, fake_model_dir: Path) -> None:
    write_lines(tmp_path / "in.txt", ["same", "other", "same"])
    summary = run_revise(on_engine(job(tmp_path, fake_model_dir), echo_engine), RecordingProgress())
    assert summary.pairs_out == 2 and summary.dropped == {"duplicate": 1} and accounted(summary)
    (entry,) = lines(tmp_path / "out.rejects.jsonl")
    assert (entry["line"], entry["reason"], entry["detail"]) == (3, "duplicate", "same row as line 1")
    again = run_revise(on_engine(job(tmp_path, fake_model_dir), never_called), RecordingProgress())
    assert again.already_done == 3


def test_stdout_runs_quarantine_into_the_working_folder(
    tmp_path: Path, fake_model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_lines(tmp_path / "in.jsonl", ['{"prompt": "fine"}', "{broken"])
    job_ = ReviseJob.of(prompts=str(tmp_path / "in.jsonl"), model=str(fake_model_dir))
    summary = run_revise(on_engine(job_, echo_engine), RecordingProgress())
    assert summary.pairs_out == 1 and summary.quarantined == {"invalid_json": 1}
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert lines(tmp_path / "cai-revise.rejects.jsonl")[0]["line"] == 2
    assert not list(tmp_path.glob("*.manifest.json"))


def test_the_engine_is_released_after_a_run_and_after_a_failure(tmp_path: Path, fake_model_dir: Path) -> None:
    engine = ScriptedEngine()
    run_revise(on_engine(job(tmp_path, fake_model_dir), lambda *_: engine), RecordingProgress())
    assert engine.closed
    failing = FailsOnCall(2)
    with pytest.raises(RuntimeError):
        run_revise(on_engine(job(tmp_path, fake_model_dir, overwrite=True), lambda *_: failing), RecordingProgress())
    assert failing.closed
