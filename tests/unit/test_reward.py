"""The constitution judge as a TRL reward function: TRL's own type, and TRL's own call, on the scripted engine.

The call goes through `GRPOTrainer._calculate_rewards` itself (on a stand-in for the trainer's state), so
the keyword arguments are the ones TRL passes: prompts, completions, completion_ids, every other dataset
column as a list, trainer_state, log_metric and log_extra.
"""

from __future__ import annotations

import asyncio
import collections.abc
import math
import typing
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest

from cai import api
from cai.errors import InputError
from cai.judge.reward import AsyncConstitutionReward, ConstitutionReward
from tests.fakes import ScriptedEngine

PROMPTS = [[{"role": "user", "content": "How do I calm a barking dog?"}]] * 2 + [
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}]
] * 2
COMPLETIONS = [[{"role": "assistant", "content": text}] for text in ("a good answer", "a plain answer") * 2]
REFERENCES = ["a plain reference", "a plain reference", None, None]


def trl_rewards(reward: ConstitutionReward, prompts: list[Any], completions: list[Any], **columns: Any) -> Any:
    """Rewards as GRPOTrainer computes them, and the metrics the reward logged through it."""
    from accelerate import Accelerator  # type: ignore[import-untyped]
    from transformers import TrainerState
    from trl.trainer.grpo_trainer import GRPOTrainer
    from trl.trainer.utils import get_callable_name

    metrics: dict[str, list[float]] = defaultdict(list)
    trainer = SimpleNamespace(
        accelerator=Accelerator(cpu=True),
        args=SimpleNamespace(report_to=[]),
        state=TrainerState(),
        reward_funcs=[reward],
        reward_processing_classes=[None],
        reward_func_names=[get_callable_name(reward)],
        environments=None,
        _log_completion_extra=lambda column, values: None,
        _log_metric=lambda name, value: metrics[name].append(value),
    )
    inputs = [{"prompt": p, **{k: v[i] for k, v in columns.items()}} for i, p in enumerate(prompts)]
    ids = [[1, 2]] * len(prompts)
    rewards = GRPOTrainer._calculate_rewards(trainer, inputs, prompts, completions, ids)
    return rewards[:, 0].tolist(), metrics


def test_it_is_a_reward_function_of_trls_own_type() -> None:
    from trl.trainer.grpo_trainer import RewardFunc
    from trl.trainer.utils import get_callable_name, is_async_callable

    function_type = next(t for t in typing.get_args(RewardFunc) if typing.get_origin(t) is collections.abc.Callable)
    _, returns = typing.get_args(function_type)
    reward = api.reward_function(ScriptedEngine(), mode="pairwise", principles=2)
    assert isinstance(reward, collections.abc.Callable)  # type: ignore[arg-type]
    assert typing.get_type_hints(type(reward).__call__)["return"] == returns == list[float | None]
    assert get_callable_name(reward) == "cai_pairwise_harmless"  # the name TRL logs its rewards under
    assert not is_async_callable(reward)
    assert is_async_callable(api.reward_function(ScriptedEngine(), asynchronous=True))


def test_pairwise_rewards_through_trls_call_conversational() -> None:
    engine = ScriptedEngine()
    reward = api.reward_function(engine, mode="pairwise", principles=2)
    rewards, metrics = trl_rewards(reward, PROMPTS, COMPLETIONS, reference=REFERENCES, category=["a"] * 4)
    # the scripted judge gives 0.8 to the side that says "good" in both orders, 0.5 when neither does
    assert rewards[:2] == pytest.approx([0.8, 0.5])
    assert all(math.isnan(r) for r in rewards[2:])  # no reference: None, which TRL reads as NaN
    assert metrics["cai_pairwise_harmless/unscored"] == [0.5]
    asked: dict[str, set[str]] = defaultdict(set)  # a group's completions are judged under the same principles
    for request in engine.requests:
        question = request.messages[1]["content"]
        answer = "good" if "a good answer" in question else "plain"
        asked[answer].add(question.rsplit("\n", 1)[-1])
    assert asked["good"] == asked["plain"] and len(asked["good"]) == 2


def test_pointwise_rewards_with_standard_strings_and_none_for_a_score_that_does_not_parse() -> None:
    def rubric(request: Any) -> str:
        bad = "broken" in request.messages[-1]["content"]
        return "not json" if bad else '{"score": 7, "reason": "fine"}'

    reward = api.reward_function(ScriptedEngine(responder=rubric), mode="pointwise", principles=3)
    prompts = ["Why is the sky blue?"] * 2
    rewards, metrics = trl_rewards(reward, prompts, ["Rayleigh scattering.", "broken"])
    assert rewards[0] == 7.0 and math.isnan(rewards[1])
    assert metrics["cai_pointwise_harmless/unscored"] == [0.5]


def test_a_prompt_too_long_for_the_judge_is_not_scored() -> None:
    reward = api.reward_function(ScriptedEngine(max_model_len=40), mode="pointwise")
    assert reward(prompts=["word " * 60], completions=["an answer"]) == [None]


def test_pairwise_without_the_reference_column_says_which_column() -> None:
    reward = api.reward_function(ScriptedEngine(), mode="pairwise", reference_column="gold")
    with pytest.raises(InputError, match=r"'gold' column.*its columns: category"):
        reward(prompts=PROMPTS, completions=COMPLETIONS, category=["a"] * 4)
    with pytest.raises(InputError, match="mode must be"):
        api.reward_function(ScriptedEngine(), mode="listwise")  # type: ignore[arg-type]


def test_the_async_reward_gives_the_same_rewards() -> None:
    columns = {"reference": REFERENCES}
    sync = api.reward_function(ScriptedEngine(), mode="pairwise")(prompts=PROMPTS, completions=COMPLETIONS, **columns)
    reward = api.reward_function(ScriptedEngine(), mode="pairwise", asynchronous=True)
    assert isinstance(reward, AsyncConstitutionReward)
    assert asyncio.run(reward(prompts=PROMPTS, completions=COMPLETIONS, **columns)) == sync
