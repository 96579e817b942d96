"""The revise pass against the scripted engine: what is sent, in what order, and what comes out."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cai import constitution
from cai.engines import Request
from cai.io.keys import derived_seed
from cai.revise.rounds import sample_principles
from cai.revise.run import ReviseJob, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine


def run(
    tmp_path: Path, fake: ScriptedEngine, model_dir: Path, prompts: list[str], **options: object
) -> list[dict[str, object]]:
    source = write_lines(tmp_path / "in.txt", prompts)
    out = tmp_path / "out.jsonl"
    job = ReviseJob.of(prompts=str(source), output=str(out), model=str(model_dir), overwrite=True, **options)
    run_revise(on_engine(job, lambda path, args, label: fake), RecordingProgress())
    return [json.loads(line) for line in out.read_text().splitlines()]


def stage_of(request: Request) -> str:
    task = request.messages[-1]["content"]
    return "revision" if "Revision request:" in task else "critique" if "Critique request:" in task else "initial"


PROMPTS = [f"question number {i}" for i in range(6)]


def test_each_stage_is_one_batched_call_in_round_order(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS, rounds=2)
    stages = [{stage_of(r) for r in batch} for batch in fake.batches]
    assert stages == [{"initial"}, {"critique"}, {"revision"}, {"critique"}, {"revision"}]
    assert [len(batch) for batch in fake.batches] == [6] * 5


def test_chunks_bound_each_call(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS[:5], rounds=1, chunk_size=2)
    assert [len(batch) for batch in fake.batches] == [2, 2, 2, 2, 2, 2, 1, 1, 1]


def test_rows_record_every_round_and_the_final_revision_is_chosen(tmp_path: Path, fake_model_dir: Path) -> None:
    answers = iter(range(1000))

    def numbered(request: Request) -> str:
        return f"{stage_of(request)} {next(answers)}"

    fake = ScriptedEngine(numbered)
    rows = run(tmp_path, fake, fake_model_dir, PROMPTS[:1], rounds=3)
    (row,) = rows
    rounds = row["cai"]["rounds"]  # type: ignore[index]
    assert [r["critique"] for r in rounds] == ["critique 1", "critique 3", "critique 5"]
    assert [r["revision"] for r in rounds] == ["revision 2", "revision 4", "revision 6"]
    assert row["rejected"] == [{"role": "assistant", "content": "initial 0"}]
    assert row["chosen"] == [{"role": "assistant", "content": "revision 6"}]
    assert row["prompt"] == [{"role": "user", "content": "question number 0"}]
    # each round critiques and revises the previous round's revision, with that round's critique
    critique_2, revision_2 = fake.batches[3][0], fake.batches[4][0]
    assert "Assistant: revision 2" in critique_2.messages[-1]["content"]
    assert "Critique: critique 3" in revision_2.messages[-1]["content"]


def test_principles_come_from_the_constitution_and_match_each_round(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    rows = run(tmp_path, fake, fake_model_dir, PROMPTS, rounds=2)
    harmless = constitution.load("harmless").constitution
    critiques = [r for r in fake.requests if stage_of(r) == "critique"]
    for row in rows:
        for number, round_ in enumerate(row["cai"]["rounds"]):  # type: ignore[index]
            principle = harmless.principle(round_["principle"])
            prompt = row["prompt"][0]["content"]  # type: ignore[index]
            sent = [r for r in critiques if prompt in r.messages[-1]["content"]][number]
            assert sent.messages[-1]["content"].endswith(principle.critique_request)


def test_principle_sampling_is_reproducible_per_seed(tmp_path: Path, fake_model_dir: Path) -> None:
    def principles(seed: int) -> list[list[str]]:
        rows = run(tmp_path, ScriptedEngine(), fake_model_dir, PROMPTS * 3, rounds=3, seed=seed)
        return [[r["principle"] for r in row["cai"]["rounds"]] for row in rows]  # type: ignore[index]

    assert principles(7) == principles(7)
    assert principles(7) != principles(8)


def test_principle_sampling_follows_weights() -> None:
    base = constitution.load("harmless").constitution
    heavy, light = base.principles[0], base.principles[1]
    weighted = base.model_copy(
        update={"principles": (heavy.model_copy(update={"weight": 9.0}), light.model_copy(update={"weight": 1.0}))}
    )
    counts = Counter(p.id for i in range(400) for p in sample_principles(weighted, f"{i:024x}", 5))
    assert 0.85 < counts[heavy.id] / 2000 < 0.95


def test_few_shot_prefix_is_byte_identical_and_first(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS, rounds=1)
    harmless = constitution.load("harmless").constitution
    for stage in ("critique", "revision"):
        sent = [r for r in fake.requests if stage_of(r) == stage]
        prefixes = {json.dumps(r.messages[:-1]) for r in sent}
        assert len(prefixes) == 1
        prefix = sent[0].messages[:-1]
        assert prefix[0]["role"] == "system"
        assert len(prefix) == 1 + 2 * len(harmless.few_shot)
        assert prefix[-1]["content"] == (
            harmless.few_shot[-1].critique if stage == "critique" else harmless.few_shot[-1].revision
        )
        # the record's own text is only in the last message
        assert all("question number" not in m["content"] for m in prefix)


def test_preamble_is_stripped_from_revisions(tmp_path: Path, fake_model_dir: Path) -> None:
    rows = run(tmp_path, ScriptedEngine(), fake_model_dir, PROMPTS[:2], rounds=1)
    for row in rows:
        chosen = row["chosen"][0]["content"]  # type: ignore[index]
        assert chosen.startswith("revised after")
        assert row["cai"]["rounds"][0]["critique"] == "the reply could be kinder."  # type: ignore[index]


def test_equal_pairs_are_dropped_and_counted(tmp_path: Path, fake_model_dir: Path) -> None:
    def unchanged(request: Request) -> str:
        if stage_of(request) == "revision":
            return "Here is the revised response:  THE SAME answer. "
        return "critique" if stage_of(request) == "critique" else "The same answer"

    source = write_lines(tmp_path / "in.txt", PROMPTS[:3])
    job = ReviseJob.of(prompts=str(source), output=str(tmp_path / "o.jsonl"), model=str(fake_model_dir))
    summary = run_revise(on_engine(job, lambda *_: ScriptedEngine(unchanged)), RecordingProgress())
    assert summary.rows_in == 3
    assert summary.pairs_out == 0
    assert summary.dropped == {"unchanged": 3}
    assert not (tmp_path / "o.jsonl").exists()
    dropped = [json.loads(line) for line in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert [(d["line"], d["kind"], d["reason"]) for d in dropped] == [(n, "dropped", "unchanged") for n in (1, 2, 3)]


def test_given_response_is_revised_not_regenerated(tmp_path: Path, fake_model_dir: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": 7, "prompt": "Clean tips?", "response": "Mix bleach and ammonia."})
        + "\n"
        + json.dumps({"prompt": "Other?"})
        + "\n"
    )
    fake = ScriptedEngine()
    out = tmp_path / "o.jsonl"
    run_revise(
        on_engine(ReviseJob.of(prompts=str(source), output=str(out), model=str(fake_model_dir)), lambda *_: fake),
        RecordingProgress(),
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    initial = [r for r in fake.requests if stage_of(r) == "initial"]
    assert [r.messages[-1]["content"] for r in initial] == ["Other?"]  # only the row without a response
    # the row with a response does not wait for the other's answer: its critique goes out at once
    assert sorted(stage_of(r) for r in fake.batches[0]) == ["critique", "initial"]
    given = rows[0]
    assert given["rejected"][0]["content"] == "Mix bleach and ammonia."
    assert given["cai"]["initial"] == {"source": "given", "finish_reason": "given"}
    assert given["cai"]["id"] == "7"


def test_direct_revision_sends_no_critiques(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    rows = run(tmp_path, fake, fake_model_dir, PROMPTS[:2], rounds=2, critique=False)
    assert {stage_of(r) for r in fake.requests} == {"initial", "revision"}
    assert all("Critique" not in m["content"] for r in fake.requests for m in r.messages)
    assert all(r["critique"] is None for row in rows for r in row["cai"]["rounds"])  # type: ignore[index]
    assert rows[0]["cai"]["mode"] == "direct"  # type: ignore[index]


def test_each_request_gets_its_own_derived_seed(tmp_path: Path, fake_model_dir: Path) -> None:
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS, rounds=1)
    seeds = [r.seed for r in fake.requests]
    assert len(set(seeds)) == len(seeds)
    assert derived_seed("ab" * 12, "initial") == derived_seed("ab" * 12, "initial")


@pytest.mark.parametrize("max_tokens", [5, 17])
def test_options_override_constitution_defaults(tmp_path: Path, fake_model_dir: Path, max_tokens: int) -> None:
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS[:1], max_tokens=max_tokens, temperature=0.0)
    assert {(r.max_tokens, r.temperature) for r in fake.requests} == {(max_tokens, 0.0)}
    defaults = constitution.load("harmless").constitution.defaults
    fake = ScriptedEngine()
    run(tmp_path, fake, fake_model_dir, PROMPTS[:1])
    assert {(r.max_tokens, r.top_p) for r in fake.requests} == {(defaults.max_tokens, defaults.top_p)}
