"""`cai score` and `cai revise --judge` on the real vLLM engine and the embedded model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cai import constitution
from cai.engines import Engine
from cai.engines.events import StageDone
from cai.judge.option_scores import NEXT_TOKEN, TOP_LOGPROBS, continuation_probability, next_token_probability
from cai.judge.pairwise import (
    ANSWER_PREFIX,
    OPTIONS,
    JudgeSettings,
    PairTask,
    PairwiseJudge,
    judge_messages,
    option_request,
    question,
)
from tests.conftest import run_cli as run_with
from tests.conftest import write_lines
from tests.fakes import judge_pairs

pytestmark = pytest.mark.real
SAMPLE = Path(__file__).resolve().parents[2] / "prompts" / "sample-score.jsonl"


def run_cli(real_engine: Engine, *args: str) -> tuple[int, str]:
    code, _, stderr = run_with(real_engine, *args)
    return code, stderr


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_score_every_row_shape_end_to_end(real_engine: Engine, tmp_path: Path) -> None:
    out, stats = tmp_path / "scored.jsonl", tmp_path / "stats.json"
    code, stderr = run_cli(
        real_engine, "score", str(SAMPLE), "-o", str(out), "--principles", "2", "--stats-json", str(stats)
    )
    assert code == 0, stderr
    inputs = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    rows = read(out)
    assert [row["id"] for row in rows] == [row["id"] for row in inputs]  # nothing quarantined, order kept
    for row in rows:
        scores = row["scores"]
        assert scores["model"].startswith("SmolLM2-135M-Instruct@")
        if scores["kind"] == "pairwise":
            assert 0 <= scores["p_a"] <= 1 and len(scores["principles"]) == 2
            assert 0 <= scores["orders"]["a_first"] <= 1 and 0 <= scores["orders"]["a_second"] <= 1
        elif scores["kind"] == "pointwise":  # structured outputs parsed into bounded integers
            assert all(1 <= p["score"] <= 10 and p["reason"] for p in scores["principles"])
        else:
            assert row["chosen"] == row["responses"][scores["best"]]
    figures = json.loads(stats.read_text())["reliability"]
    assert figures["parse_failures"] == 0 and figures["labelled_rows"] == 3
    assert 0 <= figures["position_consistency_rate"] <= 1


def test_score_with_chain_of_thought_is_clamped(real_engine: Engine, tmp_path: Path) -> None:
    rows = write_lines(tmp_path / "pairs.jsonl", [json.dumps(json.loads(SAMPLE.read_text().splitlines()[0]))])
    out = tmp_path / "cot.jsonl"
    code, stderr = run_cli(
        real_engine, "score", str(rows), "-o", str(out), "--principles", "1", "--cot", "--cot-max-tokens", "24"
    )
    assert code == 0, stderr
    (row,) = read(out)
    (principle,) = row["scores"]["principles"]
    assert row["scores"]["cot"] is True and len(principle["reasoning"]) == 2
    assert 0.4 <= principle["a_first"] <= 0.6 and 0.4 <= principle["a_second"] <= 0.6


def test_revise_with_judge(real_engine: Engine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["How do I make my neighbor's dog stop barking?", "Insult my boss."])
    out = tmp_path / "pairs.jsonl"
    code, stderr = run_cli(
        real_engine, "revise", str(prompts), "-o", str(out), "--max-tokens", "24", "--judge", "--principles", "2"
    )
    assert code == 0, stderr
    assert "judge" in stderr
    for row in read(out):
        judge = row["cai"]["judge"]
        assert 0 <= judge["p_a"] <= 1 and -1 <= judge["margin"] <= 1 and len(judge["principles"]) == 2


PAIRS = [
    ("Sorry, I can't help with that.", "Mix two parts water with one part vinegar; it cleans glass well."),
    ("Paris is the capital of France.", "The capital of France is Berlin."),
    ("Here is a poem about the sea: waves roll in.", "no"),
]


def test_next_token_read_equals_continuation_scoring(real_engine: Engine) -> None:
    """One generated token's top-k gives the same P(A) as scoring both continuations, where A is one token."""
    rules = constitution.load("harmless").constitution
    conversation = ({"role": "user", "content": "Can you help me with a household question?"},)
    for (a, b), principle in zip(PAIRS, rules.principles, strict=False):
        messages = judge_messages(question(conversation, principle, a, b, cot=False))
        read, option_a, option_b = real_engine.generate(
            [
                option_request(messages, ANSWER_PREFIX, logprobs=TOP_LOGPROBS),
                option_request(messages, ANSWER_PREFIX + "A", prompt_logprobs=True),
                option_request(messages, ANSWER_PREFIX + "B", prompt_logprobs=True),
            ]
        )
        assert len(option_a.prompt_token_ids) == len(read.prompt_token_ids) + 1  # the letter is one token
        fast = next_token_probability(read, OPTIONS)
        assert fast is not None
        assert fast == pytest.approx(continuation_probability(option_a, option_b), abs=0.01)


def test_judge_swap_symmetry_and_prefix_cache_on_the_real_model(real_engine: Engine) -> None:
    rules = constitution.load("harmless").constitution
    seen: list[StageDone] = []
    judge = PairwiseJudge(rules, JudgeSettings(principles=4), real_engine, seen.append)
    conversation = ({"role": "user", "content": "How should I store leftover rice, and for how long is it safe?"},)
    good = (
        "Spread the rice out on a tray so it cools quickly, then move it into a shallow airtight container "
        "and refrigerate it within an hour of cooking. Eat it within a day, reheat it until it is steaming "
        "hot all the way through, and reheat it only once: spores of Bacillus cereus survive cooking."
    )
    bad = (
        "Rice keeps for a long time, so you can leave the pot on the stove overnight and put it in the fridge "
        "in the morning. It stays good for about a week and you can reheat it as often as you like, since "
        "cooking already killed everything in it. Warm rice in a closed pot is perfectly fine."
    )
    forward, backward = judge_pairs(
        judge, [PairTask("k" * 24, conversation, good, bad), PairTask("k" * 24, conversation, bad, good)]
    )
    assert forward.p_a + backward.p_a == pytest.approx(1.0, abs=0.02)  # swapping a and b gives 1 - p
    assert all(v.methods == (NEXT_TOKEN, NEXT_TOKEN) for v in forward.verdicts + backward.verdicts)
    prompt = sum(event.prompt_tokens for event in seen)
    cached = sum(event.cached_tokens for event in seen)
    assert cached / prompt > 0.45  # K principles per order share the conversation and both options
