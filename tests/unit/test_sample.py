"""`cai sample` on the scripted engine: candidates, seeds, identical flags, quarantine, resume, dry run, framing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai import api
from cai.engines import Request
from cai.io.keys import derived_seed
from cai.sample.dryrun import plan_sample
from cai.sample.flows import identical_to
from cai.sample.run import SampleJob, SampleSummary, run_sample
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import FailsOnCall, ScriptedEngine, on_engine

PROMPTS = [f"question number {i}" for i in range(5)]


def by_seed(request: Request) -> str:
    """A different answer per seed, so candidates differ as sampled ones do."""
    return f"answer {request.seed} to {request.messages[-1]['content']}"


def job(tmp_path: Path, model_dir: Path, prompts: list[str] = PROMPTS, **options: Any) -> SampleJob:
    source = write_lines(tmp_path / "in.txt", prompts)
    return SampleJob.of(prompts=str(source), output=str(tmp_path / "out.jsonl"), model=str(model_dir), **options)


def run(sample_job: SampleJob, engine: ScriptedEngine) -> SampleSummary:
    return run_sample(on_engine(sample_job, lambda *_: engine), RecordingProgress())


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_each_prompt_gets_n_seeded_candidates_sent_together(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine(by_seed)
    summary = run(job(tmp_path, fake_model_dir, n=3, max_tokens=16, temperature=0.9, top_p=0.8), fake)
    rows = read(tmp_path / "out.jsonl")
    assert [row["prompt"] for row in rows] == [[{"role": "user", "content": p}] for p in PROMPTS]
    assert len(fake.batches) == 1 and len(fake.batches[0]) == 15  # every candidate of every prompt in one wave
    for row in rows:
        provenance = row["cai"]
        seeds = [derived_seed(provenance["key"], f"candidate-{i}") for i in range(3)]
        assert provenance["seeds"] == seeds and len(set(seeds)) == 3
        assert row["responses"] == [f"answer {s} to {row['prompt'][0]['content']}" for s in seeds]
        assert provenance["finish_reasons"] == ["stop"] * 3 and provenance["identical_to"] == [None] * 3
        assert provenance["sampling"] == {"n": 3, "max_tokens": 16, "temperature": 0.9, "top_p": 0.8, "seed": 0}
        assert provenance["framing"] == "none" and provenance["distinct"] == 3
    sent = {(r.seed, r.temperature, r.top_p, r.max_tokens) for r in fake.requests}
    assert {(s, 0.9, 0.8, 16) for row in rows for s in row["cai"]["seeds"]} == sent
    assert summary.rows_out == 5 and summary.candidates == 15 and summary.rows_with_identical == 0


def test_candidates_do_not_depend_on_the_batch(tmp_path: Path, fake_model_dir: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run(job(tmp_path / "a", fake_model_dir), ScriptedEngine(by_seed))
    run(job(tmp_path / "b", fake_model_dir, chunk_size=1), ScriptedEngine(by_seed))
    assert read(tmp_path / "a" / "out.jsonl") == read(tmp_path / "b" / "out.jsonl")
    run(job(tmp_path / "a", fake_model_dir, seed=1, overwrite=True), ScriptedEngine(by_seed))
    assert read(tmp_path / "a" / "out.jsonl")[0]["responses"] != read(tmp_path / "b" / "out.jsonl")[0]["responses"]


def test_identical_means_equal_once_normalised() -> None:
    assert identical_to(["Yes.", "no", "yes", "No!", "maybe"]) == [None, None, 0, 1, None]


def test_identical_candidates_are_flagged_and_all_identical_is_dropped(tmp_path: Path, fake_model_dir: Path) -> None:
    asked: dict[str, int] = {}

    def respond(request: Request) -> str:
        """Candidates 0 and 2 of "varied" say the same; every candidate of "all the same" does."""
        prompt = request.messages[-1]["content"]
        asked[prompt] = asked.get(prompt, -1) + 1
        return "Same answer." if prompt == "all the same" or asked[prompt] in (0, 2) else f"answer {request.seed}"

    summary = run(job(tmp_path, fake_model_dir, ["varied", "all the same"], n=4), ScriptedEngine(respond))
    (row,) = read(tmp_path / "out.jsonl")
    assert row["cai"]["identical_to"] == [None, None, 0, None] and row["cai"]["distinct"] == 3
    (dropped,) = read(tmp_path / "out.rejects.jsonl")
    assert (dropped["kind"], dropped["reason"], dropped["line"]) == ("dropped", "identical_candidates", 2)
    assert summary.rows_with_identical == 1 and summary.dropped == {"identical_candidates": 1}


def test_quarantine_bad_rows_long_prompts_and_empty_candidates(tmp_path: Path, fake_model_dir: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        ['{"prompt": "fine"}', '{"prompt": ""}', json.dumps({"prompt": "word " * 500}), '{"prompt": "silent"}'],
    )

    def respond(request: Request) -> str:
        return "" if "silent" in request.messages[-1]["content"] else by_seed(request)

    fake = ScriptedEngine(respond, max_model_len=400)
    sample_job = SampleJob.of(str(source), str(tmp_path / "out.jsonl"), model=str(fake_model_dir), max_tokens=8, n=2)
    summary = run(sample_job, fake)
    assert [row["cai"]["line"] for row in read(tmp_path / "out.jsonl")] == [1]
    rejects = {entry["line"]: entry for entry in read(tmp_path / "out.rejects.jsonl")}
    assert {line: entry["reason"] for line, entry in rejects.items()} == {
        2: "invalid_row",
        3: "prompt_too_long",
        4: "empty_generation",
    }
    assert "empty after 3 attempts" in rejects[4]["detail"]
    assert sum("silent" in r.messages[-1]["content"] for r in fake.requests) == 2 * 3  # two candidates, 3 tries
    assert summary.quarantined == {"invalid_row": 1, "prompt_too_long": 1, "empty_generation": 1}


def test_a_crash_resumes_without_loss_or_duplicates(tmp_path: Path, fake_model_dir: Path) -> None:
    (tmp_path / "reference").mkdir()
    run(job(tmp_path / "reference", fake_model_dir, chunk_size=2), ScriptedEngine(by_seed))
    crashing = FailsOnCall(3)
    crashing.responder = by_seed
    with pytest.raises(RuntimeError, match="engine died"):
        run(job(tmp_path, fake_model_dir, chunk_size=2), crashing)
    assert len(read(tmp_path / "out.jsonl")) == 4  # two waves of two prompts were finished
    resumed = ScriptedEngine(by_seed)
    summary = run(job(tmp_path, fake_model_dir, chunk_size=2), resumed)
    assert summary.already_done == 4 and summary.rows_out == 1 and len(resumed.requests) == 4
    assert read(tmp_path / "out.jsonl") == read(tmp_path / "reference" / "out.jsonl")

    def never(*_: object) -> ScriptedEngine:
        raise AssertionError("a finished output loads no engine")

    before = (tmp_path / "out.jsonl").read_bytes()
    again = run_sample(on_engine(job(tmp_path, fake_model_dir, chunk_size=2), never), RecordingProgress())
    assert again.already_done == 5 and (tmp_path / "out.jsonl").read_bytes() == before


def test_dry_run_counts_every_candidate_and_writes_nothing(tmp_path: Path, fake_model_dir: Path) -> None:
    sample_job = on_engine(job(tmp_path, fake_model_dir, n=3), lambda *_: ScriptedEngine())
    plan = plan_sample(sample_job, RecordingProgress())
    (candidates,) = plan.passes
    assert (candidates.name, candidates.requests, candidates.exact) == ("candidates", 15, True)
    assert candidates.prompt_tokens == 15 * 3  # the scripted tokenizer counts words: "question number i"
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.manifest.json").exists()


def test_constitution_framing_is_a_system_turn_the_rows_leave_out(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine(by_seed)
    rows_in = ['{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}']
    run(job(tmp_path, fake_model_dir, n=2, framing="constitution"), fake)
    source = write_lines(tmp_path / "in.jsonl", rows_in)
    run(
        SampleJob.of(str(source), str(tmp_path / "sys.jsonl"), model=str(fake_model_dir), n=2, framing="constitution"),
        fake,
    )
    first = fake.requests[0].messages
    assert first[0]["role"] == "system" and "less harmful" in first[0]["content"]  # a comparison question
    assert read(tmp_path / "out.jsonl")[0]["prompt"] == [{"role": "user", "content": PROMPTS[0]}]
    assert read(tmp_path / "out.jsonl")[0]["cai"]["framing"] == "constitution"
    merged = fake.requests[-1].messages
    assert [turn["role"] for turn in merged] == ["system", "user"] and merged[0]["content"].endswith("Be brief.")
    assert read(tmp_path / "sys.jsonl")[0]["prompt"][0] == {"role": "system", "content": "Be brief."}


def test_a_given_response_is_noted_and_ignored(tmp_path: Path, fake_model_dir: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", ['{"id": "r1", "prompt": "hi", "response": "given"}'])
    progress = RecordingProgress()
    sample_job = SampleJob.of(str(source), str(tmp_path / "out.jsonl"), model=str(fake_model_dir), n=2)
    run_sample(on_engine(sample_job, lambda *_: ScriptedEngine(by_seed)), progress)
    (row,) = read(tmp_path / "out.jsonl")
    assert row["id"] == "r1" and "given" not in row["responses"] and "response" not in row
    assert any("ignores it" in note for note in progress.notes)


def test_api_sample_streams_rows_and_rejects_in_input_order() -> None:
    engine = ScriptedEngine(by_seed)
    rows = list(api.sample(["one", {"prompt": ""}, {"id": 7, "prompt": "two"}], engine, n=2))
    assert [row.get("reason") for row in rows] == ["invalid_row", None, None]
    assert rows[2]["id"] == 7 and len(rows[2]["responses"]) == 2
    assert not engine.closed
