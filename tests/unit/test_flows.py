"""The flow driver: records advance on their own, the window bounds what is in flight, nothing is lost."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from cai.engines import Generation, Request
from cai.engines.flows import Flow, drive, in_order
from cai.revise.run import ReviseJob, run_revise
from tests.conftest import RecordingProgress, write_lines
from tests.fakes import ScriptedEngine, on_engine


class OneAtATime(ScriptedEngine):
    """Finishes a single queued request per collect, picked at random: records finish out of order."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.rng = random.Random(seed)
        self.most_in_flight = 0

    def submit(self, requests: Sequence[Request]) -> list[int]:
        tickets = super().submit(requests)
        self.most_in_flight = max(self.most_in_flight, len(self.queued))
        return tickets

    def collect(self) -> list[tuple[int, Generation]]:
        ticket, request = self.queued.pop(self.rng.randrange(len(self.queued)))
        return [(ticket, self.generate([request])[0])]


def steps(name: str, count: int, log: list[str]) -> Flow:
    for step in range(count):
        output = yield Request(messages=({"role": "user", "content": f"{name} step {step}"},), max_tokens=4)
        log.append(f"{name}:{output.text}")


def test_every_flow_ends_once_and_gets_its_own_answers() -> None:
    engine, log = OneAtATime(), list[str]()
    ended = list(drive(engine, ((f"r{i}", steps(f"r{i}", i % 4, log)) for i in range(20)), window=5))
    assert sorted(ended) == sorted(f"r{i}" for i in range(20))
    for i in range(20):  # each flow got, in order, the answers to its own requests
        mine = [entry for entry in log if entry.startswith(f"r{i}:")]
        assert mine == [f"r{i}:initial answer to r{i} step {step}" for step in range(i % 4)]


def test_the_window_bounds_requests_in_flight() -> None:
    engine = OneAtATime()
    list(drive(engine, ((i, steps(str(i), 3, [])) for i in range(30)), window=4))
    assert engine.most_in_flight == 4
    assert len(engine.requests) == 90


def test_a_record_does_not_wait_for_the_slowest_of_its_chunk() -> None:
    """r0 needs 6 steps, the others 1: they finish and new records start while r0 is still going."""
    engine = ScriptedEngine()  # waves: every queued request in one batch
    counts = [6, 1, 1, 1, 1, 1, 1, 1]
    ended = list(drive(engine, ((i, steps(str(i), n, [])) for i, n in enumerate(counts)), window=3))
    assert [len(batch) for batch in engine.batches] == [3, 3, 3, 2, 1, 1]
    assert ended[-1] == 0  # the long record ends last; the seven short ones passed it by


def test_flows_that_end_without_a_request_free_their_place() -> None:
    def nothing() -> Flow:
        return
        yield  # a generator that ends at once (a record quarantined before any request)

    engine = ScriptedEngine()
    flows = [(0, nothing()), (1, steps("1", 1, [])), (2, nothing()), (3, steps("3", 1, []))]
    assert sorted(drive(engine, flows, window=1)) == [0, 1, 2, 3]
    assert [len(batch) for batch in engine.batches] == [1, 1]


def test_in_order_releases_by_number_whatever_the_arrival_order() -> None:
    arrivals = [(2, "c"), (0, "a"), (3, "d"), (1, "b"), (4, "e")]
    assert list(in_order(arrivals)) == ["a", "b", "c", "d", "e"]


def test_revise_rows_come_out_in_input_order_when_records_finish_out_of_order(
    tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = [f"question number {i}" for i in range(12)]
    source = write_lines(tmp_path / "in.txt", prompts)
    out = tmp_path / "out.jsonl"
    engine = OneAtATime(seed=3)
    job = ReviseJob.of(prompts=str(source), output=str(out), model=str(fake_model_dir), rounds=2, chunk_size=4)
    summary = run_revise(on_engine(job, lambda *_: engine), RecordingProgress())
    rows = [line for line in out.read_text().splitlines()]
    assert summary.pairs_out == 12
    assert [f'"question number {i}"' in row for i, row in enumerate(rows)] == [True] * 12
    assert engine.most_in_flight == 4


def test_progress_counts_every_record_once_per_stage_even_when_quarantined(
    tmp_path: Path, fake_model_dir: Path
) -> None:
    def silent_on_two(request: Request) -> str:
        task = request.messages[-1]["content"]
        return "" if task == "question number 2" else f"answer to {task[-30:]}"

    source = write_lines(tmp_path / "in.txt", [f"question number {i}" for i in range(5)])
    progress = RecordingProgress()
    job = ReviseJob.of(prompts=str(source), output=str(tmp_path / "o.jsonl"), model=str(fake_model_dir), rounds=2)
    summary = run_revise(on_engine(job, lambda *_: ScriptedEngine(silent_on_two)), progress)
    assert summary.quarantined == {"empty_generation": 1}
    done = {stage: sum(e.records for e in progress.events if e.stage == stage) for stage in progress.plan}
    assert done == progress.plan == {"initial": 5, "critique": 10, "revision": 10}
    assert sum(e.output_tokens for e in progress.events) == summary.output_tokens > 0


def test_a_window_below_one_is_refused_rather_than_idling_forever() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(drive(ScriptedEngine(), [(0, steps("0", 1, []))], window=0))
