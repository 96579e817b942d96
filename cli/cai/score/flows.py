"""Each `cai score` row as a flow (cai.engines.flows): pointwise rubric, pairwise verdict, or every pair of a ranking.

A row's flow asks its questions (side by side where they can share the prefix cache), then leaves
what it found in an Outcome: the scores to write, or why the row is quarantined.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cai.engines.events import StageDone
from cai.engines.flows import Flow, Parallel
from cai.framing import normalise
from cai.io.keys import pair_key
from cai.io.scored import PairsMode, Scored, ranked_sides
from cai.judge.pairwise import PairTask, PairVerdict, PairwiseJudge
from cai.judge.pointwise import PointTask, PointwiseScorer


@dataclass
class Outcome:
    """What one row's flow found: scores (and extra columns) to write, or why it is quarantined."""

    item: Scored
    scores: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None
    quarantine: tuple[str, str, bytes | None] | None = None
    verdicts: list[PairVerdict] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)  # a ranked row's pairs (i < j), as judged


TOO_LONG = ("prompt_too_long", "the judge's prompt + max tokens exceed the model's max_model_len", None)


@dataclass
class RowScorers:
    judge: PairwiseJudge
    pointwise: PointwiseScorer
    report: Callable[[StageDone], None]

    def flow(self, outcome: Outcome) -> Flow:
        """The row's requests one after another; its progress bar moves once the row is done."""
        kind = outcome.item.row.kind
        if kind == "pointwise":
            yield from self._pointwise(outcome)
        elif kind == "pairwise":
            yield from self._pairwise(outcome)
        else:
            yield from self._ranked(outcome)
        self.report(StageDone(kind, 0, 1, 0, 0, 0))

    def _pointwise(self, outcome: Outcome) -> Flow:
        row = outcome.item.row
        task = PointTask(outcome.item.key, row.conversation, row.responses[0])
        if not self.pointwise.fits(task):
            outcome.quarantine = TOO_LONG
            return
        verdict = yield from self.pointwise.flow(task)
        if verdict.failure is not None:
            outcome.quarantine = ("unparseable_score", verdict.failure, verdict.raw.encode())
        else:
            outcome.scores = verdict.as_dict()

    def _pairwise(self, outcome: Outcome) -> Flow:
        row = outcome.item.row
        task = PairTask(outcome.item.key, row.conversation, *row.responses)
        if not self.judge.fits(task):
            outcome.quarantine = TOO_LONG
            return
        verdict = yield from self.judge.flow(task)
        outcome.verdicts.append(verdict)
        outcome.scores = verdict.as_dict()
        if row.labelled:
            outcome.scores["agrees_with_label"] = verdict.p_a > 0.5

    def _ranked(self, outcome: Outcome) -> Flow:
        item = outcome.item
        responses = item.row.responses
        pairs = [(i, j) for i in range(len(responses)) for j in range(i + 1, len(responses))]
        tasks = [
            PairTask(pair_key(item.key, i, j), item.row.conversation, responses[i], responses[j]) for i, j in pairs
        ]
        if not all(self.judge.fits(task) for task in tasks):
            outcome.quarantine = TOO_LONG
            return
        outcome.verdicts = yield Parallel([self.judge.flow(task) for task in tasks])
        outcome.pairs = pairs
        outcome.scores, outcome.extra = rank(item, pairs, outcome.verdicts)


def rank(
    item: Scored, pairs: list[tuple[int, int]], verdicts: list[PairVerdict]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Win rate per response (mean P(beats each other)); best vs worst becomes chosen vs rejected."""
    count = len(item.row.responses)
    wins = [0.0] * count
    for (i, j), verdict in zip(pairs, verdicts, strict=True):
        wins[i] += verdict.p_a
        wins[j] += 1 - verdict.p_a
    rates = [w / (count - 1) for w in wins]
    best = max(range(count), key=lambda i: rates[i])
    worst = min((i for i in range(count) if i != best), key=lambda i: rates[i])
    scores = {
        "win_rate": [round(r, 6) for r in rates],
        "best": best,
        "worst": worst,
        "pairs": [{"a": i, "b": j, **v.as_dict()} for (i, j), v in zip(pairs, verdicts, strict=True)],
    }
    return scores, ranked_sides(item, best, worst)


def selected_pairs(
    mode: PairsMode, scores: dict[str, Any], responses: Sequence[str]
) -> tuple[list[dict[str, Any]], int]:
    """The judged pairs `--pairs all|adjacent` emits (entries of `scores["pairs"]`), and how many were left
    out because their two responses are the same once normalised (such a pair teaches nothing).

    all: every pair; adjacent: each response against the next one down the ranking (by win rate, ties in
    input order), so N responses give N-1 pairs.
    """
    judged = {(entry["a"], entry["b"]): entry for entry in scores["pairs"]}
    if mode == "all":
        wanted = list(judged)
    else:
        rates = scores["win_rate"]
        order = sorted(range(len(rates)), key=lambda index: (-rates[index], index))
        wanted = [(min(i, j), max(i, j)) for i, j in itertools.pairwise(order)]
    kept = [judged[pair] for pair in wanted if normalise(responses[pair[0]]) != normalise(responses[pair[1]])]
    return kept, len(wanted) - len(kept)
