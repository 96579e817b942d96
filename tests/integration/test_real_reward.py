"""The constitution judge as GRPO's reward on the real engine: one GRPOTrainer step on the embedded model.

TRL generates in transformers (in this process, tiny lengths, two generations per prompt); both rewards
run on the session's vLLM engine: the pairwise P(completion better than the row's reference) and the
pointwise rubric score under structured outputs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cai import api
from cai.engines import Engine

pytestmark = pytest.mark.real


def test_one_grpo_step_rewarded_by_the_constitution(real_engine: Engine, tmp_path: Path) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    folder, _ = api.embedded_model()
    dataset = Dataset.from_list([
        {"prompt": [{"role": "user", "content": "How do I calm a dog that barks at night?"}],
         "reference": "Walk it before bed and give it a quiet place to sleep."},
        {"prompt": [{"role": "user", "content": "Why is the sky blue?"}],
         "reference": "Air scatters blue sunlight more than red, so the sky looks blue."},
    ])  # fmt: skip
    pairwise = api.reward_function(real_engine, mode="pairwise", principles=1)
    pointwise = api.reward_function(real_engine, mode="pointwise", principles=1)
    config = GRPOConfig(
        output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, num_generations=2,
        max_completion_length=8, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True, bf16=False,
        disable_tqdm=True,
    )  # fmt: skip
    network = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    trainer = GRPOTrainer(
        model=network,
        reward_funcs=[pairwise, pointwise],
        args=config,
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(folder),
    )
    trainer.train()
    log = trainer.state.log_history[0]
    assert 0 < log["rewards/cai_pairwise_harmless/mean"] < 1  # a probability, read from vLLM's log-probs
    assert log["cai_pairwise_harmless/unscored"] == 0  # every row has its reference
    assert 1 <= log["rewards/cai_pointwise_harmless/mean"] <= 10  # a rubric score that parsed
    assert math.isfinite(log["loss"]) and log["step"] == 1
