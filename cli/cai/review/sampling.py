"""A stratified, seeded random sample of judged pairs, with every item's inclusion weight written down.

Strata are (margin band, position consistency, principle). Low |margin| bands are oversampled —
that is where a judge is most often wrong — so the sample is not proportional; each item's weight
N_h / n_h lets agreement be estimated for the whole source file anyway. Every non-empty stratum
gets at least one item when n allows it. Items come out in random order (so a half-finished review
is still a random subset of every stratum) with A/B order randomised per item: the review is blind.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from cai.review.items import JudgeView, ReviewItem, SourceRef, Stratum, Turn
from cai.review.rows import JudgedPair

# |margin| band upper edges and how much each band is oversampled relative to its size
BANDS = ((0.1, "margin<0.1", 4.0), (0.3, "margin<0.3", 2.0), (1.01, "margin>=0.3", 1.0))
NO_VERDICT = ("no-verdict", 1.0)


@dataclass(frozen=True)
class Allocation:
    stratum: str
    size: int
    sampled: int


def stratum_of(pair: JudgedPair) -> tuple[str, float]:
    """The stratum id of a pair and its band's oversampling factor."""
    if pair.p_a is None:
        band, factor = NO_VERDICT
    else:
        margin = abs(2 * pair.p_a - 1)
        band, factor = next((name, f) for edge, name, f in BANDS if margin < edge)
    consistency = {True: "consistent", False: "inconsistent", None: "-"}[pair.position_consistent]
    return f"{band}|{consistency}|{pair.principle}", factor


def allocate(sizes: dict[str, int], factors: dict[str, float], n: int, order: Sequence[str] = ()) -> dict[str, int]:
    """Sample sizes per stratum: one each if n allows, the rest by size × factor (largest remainder), capped.

    Equal shares are broken by `order` (the caller passes a seeded shuffle), so when n is smaller than
    the number of strata, which strata go without is random rather than alphabetical.
    """
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    names = list(order) or sorted(sizes)
    taken = {name: 1 if n >= len(names) else 0 for name in names}
    while (left := n - sum(taken.values())) > 0:
        open_ = [name for name in names if taken[name] < sizes[name]]
        demand = {name: sizes[name] * factors[name] for name in open_}
        scale = left / sum(demand.values())
        shares = {name: demand[name] * scale for name in open_}
        before = sum(taken.values())
        for name in open_:
            taken[name] = min(sizes[name], taken[name] + int(shares[name]))
        if sum(taken.values()) == before:  # every share is below one: the largest get one each
            for name in sorted(open_, key=lambda s: -shares[s])[:left]:  # stable: ties keep `order`
                taken[name] += 1
    return {name: count for name, count in taken.items() if count}


def draw(pairs: Sequence[JudgedPair], n: int, seed: int, source: str) -> list[ReviewItem]:
    """The sample as review items, in review order."""
    rng = random.Random(seed)
    members: dict[str, list[JudgedPair]] = defaultdict(list)
    factors: dict[str, float] = {}
    for pair in pairs:
        name, factors[name] = stratum_of(pair)
        members[name].append(pair)
    order = sorted(members)
    rng.shuffle(order)
    plan = allocate({name: len(group) for name, group in members.items()}, factors, n, order)
    items: list[ReviewItem] = []
    for name in sorted(plan):
        group, sampled = members[name], plan[name]
        stratum = Stratum(id=name, size=len(group), sampled=sampled)
        items.extend(_item(pair, stratum, len(pairs), rng, source) for pair in rng.sample(group, sampled))
    rng.shuffle(items)
    return items


def _item(pair: JudgedPair, stratum: Stratum, population: int, rng: random.Random, source: str) -> ReviewItem:
    a_first = rng.random() < 0.5
    judge = None if pair.p_a is None else JudgeView(p_a=pair.p_a, position_consistent=pair.position_consistent)
    return ReviewItem(
        item=pair.key,
        source=SourceRef(path=source, line=pair.line),
        conversation=tuple(Turn.model_validate(turn) for turn in pair.conversation),
        response_A=pair.a if a_first else pair.b,
        response_B=pair.b if a_first else pair.a,
        shown_A="a" if a_first else "b",
        judge=judge,
        principle=pair.principle,
        stratum=stratum,
        inclusion_probability=stratum.sampled / stratum.size,
        weight=stratum.size / stratum.sampled,
        population=population,
    )
