"""The constitution judge as an online RL reward: a TRL reward function over a warm engine.

TRL's online trainers (GRPOTrainer, RLOOTrainer, the experimental OnlineDPOTrainer) call each reward
function as `f(prompts=..., completions=..., completion_ids=..., **columns)` — the dataset's other
columns as lists, plus `trainer_state`, `log_metric` and `log_extra` — and take one float per
completion back, None where it cannot score (TRL then leaves that function out for that completion).
Prompts and completions come as strings (standard datasets) or chat messages (conversational ones).

Two rewards, both the judges cai already has (nothing is judged a second way):

- `pointwise`: the rubric score (1–10) averaged over K principles (cai.judge.pointwise); None when the
  score does not parse (it is never repaired) or the prompt does not fit the judge's context;
- `pairwise`: P(completion better than the row's reference answer), both orders and K principles
  averaged (cai.judge.pairwise); None for a row without a reference.

Every completion of one prompt is judged under the same K principles (sampled from the prompt's key), so
the differences GRPO normalises within a group are differences between completions, not between
principles. All completions of a call are judged at once as flows on the engine (cai.engines.flows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Literal

from cai.constitution import LoadedConstitution
from cai.engines.flows import Flow, drive
from cai.engines.protocol import Engine, Message
from cai.errors import InputError
from cai.io.keys import fingerprint, record_key
from cai.judge import FORMAT_VERSION
from cai.judge.pairwise import JudgeSettings, PairTask, PairwiseJudge
from cai.judge.pointwise import PointTask, PointwiseScorer

RewardMode = Literal["pointwise", "pairwise"]
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class RewardSettings:
    mode: RewardMode = "pointwise"
    principles: int = 4  # as `cai score`: the same judge online as offline
    reference_column: str = "reference"
    rubric_max_tokens: int = 96
    window: int = 64  # completions in flight on the engine at once


def text_of(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a multimodal list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def conversation_of(prompt: Any) -> tuple[Message, ...]:
    """A TRL prompt (a string, or chat messages) as the judge's conversation."""
    if isinstance(prompt, str):
        return ({"role": "user", "content": prompt},)
    return tuple({"role": m["role"], "content": text_of(m.get("content"))} for m in prompt if m.get("role") in ROLES)


def answer_of(completion: Any) -> str:
    """A TRL completion (a string, or the assistant's messages) as one answer."""
    if isinstance(completion, str):
        return completion
    return "".join(text_of(m.get("content")) for m in completion if m.get("role") == "assistant")


@dataclass
class _Scoring:
    """One completion to reward, and what its judging found."""

    prompt: Any
    completion: Any
    reference: Any
    reward: float | None = None
    position_consistent: bool | None = None


class ConstitutionReward:
    """A TRL reward function: the constitution's judge on `engine`, one float (or None) per completion."""

    def __init__(self, engine: Engine, loaded: LoadedConstitution, settings: RewardSettings):
        self.engine = engine
        self.loaded = loaded
        self.settings = settings
        self.__name__ = f"cai_{settings.mode}_{loaded.constitution.name}".replace("-", "_")
        self.run_key = fingerprint(
            {"constitution": loaded.sha256, "mode": settings.mode, "principles": settings.principles,
             "judge_format": FORMAT_VERSION}
        )  # fmt: skip
        ignore = lambda event: None  # noqa: E731 - progress is TRL's to show
        judging = JudgeSettings(principles=settings.principles)
        self.pairwise = PairwiseJudge(loaded.constitution, judging, engine, ignore)
        self.pointwise = PointwiseScorer(
            loaded.constitution, settings.principles, settings.rubric_max_tokens, engine, ignore
        )

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **columns: Any
    ) -> list[float | None]:
        references = self._references(columns, len(prompts))
        scorings = [_Scoring(*row) for row in zip(prompts, completions, references, strict=True)]
        for _ in drive(self.engine, ((scoring, self._flow(scoring)) for scoring in scorings), self.settings.window):
            pass
        results = [scoring.reward for scoring in scorings]
        log = columns.get("log_metric")
        if callable(log) and results:
            log(f"{self.__name__}/unscored", sum(r is None for r in results) / len(results))
            consistent = [s.position_consistent for s in scorings if s.position_consistent is not None]
            if consistent:
                log(f"{self.__name__}/position_consistent", fmean(consistent))
        return results

    def _references(self, columns: dict[str, Any], count: int) -> Sequence[Any]:
        if self.settings.mode == "pointwise":
            return [None] * count
        column = self.settings.reference_column
        if column not in columns:
            raise InputError(
                f"the pairwise reward compares each completion with the dataset's {column!r} column, and the "
                f"dataset has none (its columns: {', '.join(sorted(columns)) or 'none'}); add one or set "
                "reference_column"
            )
        return list(columns[column])

    def _flow(self, scoring: _Scoring) -> Flow:
        """One completion's judging; its reward is left in `scoring` (None: it could not be scored)."""
        conversation = conversation_of(scoring.prompt)
        key = record_key({"prompt": [dict(m) for m in conversation]}, self.run_key)
        answer = answer_of(scoring.completion)
        if self.settings.mode == "pointwise":
            task = PointTask(key, conversation, answer)
            if self.pointwise.fits(task):
                verdict = yield from self.pointwise.flow(task)
                scoring.reward = None if verdict.failure is not None else verdict.overall
            return
        reference = answer_of(scoring.reference) if scoring.reference is not None else ""
        pair = PairTask(key, conversation, answer, reference)
        if reference.strip() and self.pairwise.fits(pair):
            judged = yield from self.pairwise.flow(pair)
            scoring.reward, scoring.position_consistent = judged.p_a, judged.position_consistent


class AsyncConstitutionReward(ConstitutionReward):
    """The same reward as a coroutine (TRL runs async rewards side by side): judged in a worker thread."""

    async def __call__(  # type: ignore[override]
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **columns: Any
    ) -> list[float | None]:
        call = super().__call__
        return await asyncio.to_thread(call, prompts, completions, completion_ids, **columns)
