"""The pairwise labeler on scripted log-probs: probabilities, order averaging, ensembles, the CoT clamp."""

from __future__ import annotations

import math
import random

import pytest

from cai import constitution
from cai.engines import Generation, Request
from cai.judge.option_scores import CONTINUATION, NEXT_TOKEN, continuation_probability, next_token_probability
from cai.judge.pairwise import JudgeSettings, PairTask, PairwiseJudge, question, sample_comparisons
from tests.fakes import ScriptedEngine, biased, judge_pairs, options, prefers_good

RULES = constitution.load("harmless").constitution
CONVERSATION = ({"role": "user", "content": "How do I fix my bike?"},)


def judge(engine: ScriptedEngine, **settings: object) -> PairwiseJudge:
    return PairwiseJudge(RULES, JudgeSettings(**settings), engine, lambda event: None)  # type: ignore[arg-type]


def task(a: str, b: str, key: str = "ab" * 12) -> PairTask:
    return PairTask(key, CONVERSATION, a, b)


def random_logprobs(seed: int) -> ScriptedEngine:
    rng = random.Random(seed)
    return ScriptedEngine(option_logprob=lambda request: -rng.uniform(0, 30))


def test_probability_comes_from_normalised_option_logprobs() -> None:
    (verdict,) = judge_pairs(judge(ScriptedEngine(), principles=1), [task("a good answer", "a bad answer")])
    assert verdict.p_a == pytest.approx(0.8 / (0.8 + 0.2))
    assert verdict.verdicts[0].p_a_first == pytest.approx(0.8)
    assert verdict.verdicts[0].p_a_second == pytest.approx(0.8)
    assert verdict.position_consistent and verdict.as_dict()["preferred"] == "a"
    assert verdict.as_dict()["principles"][0]["method"] == {"a_first": NEXT_TOKEN, "a_second": NEXT_TOKEN}


def test_a_letter_missing_from_the_top_k_falls_back_to_scoring_both_continuations() -> None:
    engine = ScriptedEngine(top_letters="A")  # B is not among the top-k tokens
    (verdict,) = judge_pairs(judge(engine, principles=1), [task("a good answer", "a bad answer")])
    assert verdict.p_a == pytest.approx(0.8)  # the same probability, read the slow way
    assert verdict.as_dict()["principles"][0]["method"] == {"a_first": CONTINUATION, "a_second": CONTINUATION}
    reads, continuations = engine.batches  # both orders side by side: the next token, then "(A" and "(B"
    assert [(r.logprobs, r.prompt_logprobs) for r in reads] == [(20, False)] * 2
    assert [(r.logprobs, r.prompt_logprobs) for r in continuations] == [(None, True)] * 4


@pytest.mark.parametrize("seed", range(5))
def test_probabilities_stay_in_the_unit_interval(seed: int) -> None:
    verdicts = judge_pairs(
        judge(random_logprobs(seed), principles=3), [task(f"x{i}", f"y{i}", f"{i:024x}") for i in range(8)]
    )
    for verdict in verdicts:
        values = [verdict.p_a, verdict.p_a_first, verdict.p_a_second]
        values += [v.p_a_first for v in verdict.verdicts] + [v.p_a_second for v in verdict.verdicts]
        assert all(0 <= value <= 1 for value in values)
        assert -1 <= verdict.margin <= 1


@pytest.mark.parametrize("scorer", [prefers_good, biased])
def test_swapping_the_responses_gives_one_minus_p(scorer: object) -> None:
    engine = ScriptedEngine(option_logprob=scorer)  # type: ignore[arg-type]
    forward, backward = judge_pairs(
        judge(engine, principles=3), [task("a good one", "a bad one"), task("a bad one", "a good one")]
    )
    assert forward.p_a + backward.p_a == pytest.approx(1.0)
    assert [v.principle for v in forward.verdicts] == [v.principle for v in backward.verdicts]


def test_both_orders_are_asked_and_position_bias_cancels() -> None:
    engine = ScriptedEngine(option_logprob=biased)
    (verdict,) = judge_pairs(judge(engine, principles=1), [task("same", "same")])
    first, second = verdict.verdicts[0].p_a_first, verdict.verdicts[0].p_a_second
    assert first > 0.5 > second  # the model always picks (A)...
    assert verdict.p_a == pytest.approx(0.5)  # ...and averaging the two orders cancels it
    assert not verdict.position_consistent
    shown_first = {options(r)[0] for r in engine.requests}
    assert len(engine.requests) == 2 and len(shown_first) == 1  # one next-token read per order, "same" as (A)


def test_ensembles_average_over_sampled_principles() -> None:
    def per_principle(request: Request) -> float:
        weight = 0.9 if "less harmful" in request.messages[-2]["content"] else 0.6
        return math.log(weight if options(request)[2] == "A" else 1 - weight)

    (verdict,) = judge_pairs(judge(ScriptedEngine(option_logprob=per_principle), principles=5), [task("x", "y")])
    assert len(verdict.verdicts) == 5 and len({v.principle for v in verdict.verdicts}) == 5
    assert verdict.p_a == pytest.approx(sum(v.p_a for v in verdict.verdicts) / 5)
    assert [v.principle for v in verdict.verdicts] == [p.id for p in sample_comparisons(RULES, "ab" * 12, 5)]


def test_principle_sample_is_seeded_by_the_key() -> None:
    assert sample_comparisons(RULES, "k1", 4) == sample_comparisons(RULES, "k1", 4)
    assert any(sample_comparisons(RULES, f"k{i}", 4) != sample_comparisons(RULES, "k1", 4) for i in range(2, 6))


def test_chain_of_thought_reasons_first_and_is_clamped() -> None:
    sure = ScriptedEngine(option_logprob=lambda r: math.log(0.99 if options(r)[2] == "A" else 0.01))
    (verdict,) = judge_pairs(judge(sure, principles=2, cot=True, clamp=(0.4, 0.6)), [task("x", "y")])
    for v in verdict.verdicts:
        assert v.p_a_first == 0.6 and v.p_a_second == 0.4  # 0.99 and 0.01 clamped
        assert v.reasoning == ("Option (A) is kinder.", "Option (A) is kinder.")
    reasoning = [r for r in sure.requests if not r.continue_final]
    reading = [r for r in sure.requests if r.continue_final]  # each question: reason, then read the letter
    assert all(r.logprobs is None and not r.continue_final for r in reasoning) and len(reasoning) == 4
    assert all(
        r.messages[-1]["content"] == "Option (A) is kinder.\nTherefore, the better response is (" for r in reading
    )


def test_what_the_principles_share_comes_first_in_the_prompt() -> None:
    one, other = sample_comparisons(RULES, "k", 2)
    first = question(CONVERSATION, one, "answer x", "answer y", cot=False)
    second = question(CONVERSATION, other, "answer x", "answer y", cot=False)
    shared = "(B) answer y\n\nAnswer this question with the letter of the better option:\n"
    assert second.startswith(first[: first.index(shared) + len(shared)])  # conversation, options, instruction
    assert first.endswith(f"option:\n{one.comparison}") and second.endswith(f"option:\n{other.comparison}")


def test_each_order_asks_its_first_principle_alone_then_the_rest_at_once() -> None:
    """The first question of an order puts the shared prompt in the prefix cache; the others then read it."""
    engine = ScriptedEngine()
    judge_pairs(judge(engine, principles=3), [task("x", "y")])
    first_wave, second_wave = engine.batches
    assert [options(r)[0] for r in first_wave] == ["x", "y"]  # one question per order
    assert sorted(options(r)[0] for r in second_wave) == ["x", "x", "y", "y"]  # the other two principles each
    asked = {(options(r)[0], r.messages[-2]["content"].rsplit("\n", 1)[-1]) for r in engine.requests}
    assert len(asked) == 6  # 3 principles x 2 orders, none twice


def test_next_token_probability_counts_every_spelling_of_a_letter() -> None:
    top = {"A": math.log(0.3), " A": math.log(0.1), "B": math.log(0.2), "The": math.log(0.4)}
    assert next_token_probability(Generation("A", "length", 3, 1, logprobs=(top,)), ("A", "B")) == pytest.approx(2 / 3)
    assert next_token_probability(Generation("A", "length", 3, 1, logprobs=({"A": -0.1},)), ("A", "B")) is None


def test_option_tokens_are_summed_after_the_shared_prefix() -> None:
    """Options that tokenise differently ('A' one token, 'B' two) are compared on their whole tails."""
    a = Generation("", "length", 5, 1, prompt_token_ids=(1, 2, 3, 10), prompt_logprobs=(None, -1.0, -1.0, -0.5))
    b = Generation(
        "", "length", 6, 1, prompt_token_ids=(1, 2, 3, 20, 21), prompt_logprobs=(None, -1.0, -1.0, -1.0, -1.0)
    )
    assert continuation_probability(a, b) == pytest.approx(1 / (1 + math.exp(-2.0 + 0.5)))
