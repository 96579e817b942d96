"""Which item each reviewer sees next when several people label one review file at the same time.

Items go out in the review file's order (already random, so any prefix is a fair part of the sample).
An item needs one reviewer's label, or two when it is an *overlap* item — those measure agreement
between reviewers. An item on another reviewer's screen (a *claim*) counts as taken until it is
labelled or its lease runs out, so two people labelling at once are not handed the same item unless
it is meant for both. A `skip` does not count towards an item's need (the item goes to someone else),
but the reviewer who skipped it moves past it, as in the terminal UI. After a label the next item is
the first open one after it, wrapping to the first open one: the rule of `cai review label`, so one
reviewer alone sees exactly the order the terminal would show. No web code here: tested alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

SHARED_BY = 2  # reviewers an overlap item goes to
LEASE = 600.0  # seconds an item stays claimed by a reviewer who shows no sign of life


def overlap_items(count: int, overlap: float) -> list[bool]:
    """round(count × overlap) items marked shared, spread evenly over the review order (exact integers)."""
    shared = round(count * overlap)
    return [(index + 1) * shared // count > index * shared // count for index in range(count)]


@dataclass
class Claim:
    index: int
    shown: float  # when the reviewer was first shown it (time per item starts here)
    seen: float  # the reviewer's latest request (the lease runs from here)


@dataclass(frozen=True)
class Progress:
    mine: int  # items this reviewer has labelled (skips included)
    items: int
    complete: int  # items with every label they need (skips do not count)
    labels: int  # current labels of everyone (skips included)
    reviewers: int
    shared: int  # overlap items


class Assignment:
    """Current labels per reviewer (item → A | B | tie | skip) and who is looking at what."""

    def __init__(self, keys: Sequence[str], overlap: float = 0.0, lease: float = LEASE):
        self.keys = list(keys)
        self.position = {key: index for index, key in enumerate(self.keys)}
        self.shared = overlap_items(len(self.keys), overlap)
        self.lease = lease
        self.labels: dict[str, dict[str, str]] = {}
        self.claims: dict[str, Claim] = {}

    def need(self, index: int) -> int:
        return SHARED_BY if self.shared[index] else 1

    def update(self, reviewer: str, current: Mapping[str, str]) -> None:
        """A reviewer's labels as they are now (after their file changed); unknown items are ignored."""
        self.labels[reviewer] = {key: label for key, label in current.items() if key in self.position}

    def taken(self, index: int, reviewer: str, now: float) -> int:
        """Labels (not skips) and live claims of *other* reviewers on an item."""
        key = self.keys[index]
        labelled = {name for name, labels in self.labels.items() if labels.get(key, "skip") != "skip"}
        claimed = {name for name, claim in self.claims.items() if claim.index == index and self._live(claim, now)}
        return len((labelled | claimed) - {reviewer})

    def is_open(self, index: int, reviewer: str, now: float) -> bool:
        """Not labelled by this reviewer, and still short of the labels it needs."""
        labelled = self.keys[index] in self.labels.get(reviewer, {})
        return not labelled and self.taken(index, reviewer, now) < self.need(index)

    def next_for(self, reviewer: str, after: int, now: float) -> int | None:
        """The first open item after `after`, else the first open one; None when nothing is left for them."""
        order = chain(range(after + 1, len(self.keys)), range(after + 1))
        return next((index for index in order if self.is_open(index, reviewer, now)), None)

    def current(self, reviewer: str, now: float) -> Claim | None:
        """The item on the reviewer's screen: kept while unlabelled by them, else the next one is claimed."""
        claim = self.claims.get(reviewer)
        if claim is not None and self.keys[claim.index] not in self.labels.get(reviewer, {}):
            claim.seen = now
            return claim
        return self.advance(reviewer, -1 if claim is None else claim.index, now)

    def advance(self, reviewer: str, after: int, now: float) -> Claim | None:
        found = self.next_for(reviewer, after, now)
        return self.move(reviewer, found, now)

    def move(self, reviewer: str, index: int | None, now: float) -> Claim | None:
        """Put an item on the reviewer's screen (after an undo: the item taken back), or clear it."""
        if index is None:
            self.claims.pop(reviewer, None)
            return None
        claim = self.claims.get(reviewer)
        if claim is None or claim.index != index:
            claim = Claim(index, now, now)
            self.claims[reviewer] = claim
        claim.seen = now
        return claim

    def progress(self, reviewer: str) -> Progress:
        """Counted over the labels given, not over items × reviewers: it runs under the server's lock on every page."""
        counted = Counter(key for labels in self.labels.values() for key, label in labels.items() if label != "skip")
        return Progress(
            mine=len(self.labels.get(reviewer, {})),
            items=len(self.keys),
            complete=sum(1 for key, count in counted.items() if count >= self.need(self.position[key])),
            labels=sum(len(labels) for labels in self.labels.values()),
            reviewers=sum(1 for labels in self.labels.values() if labels),
            shared=sum(self.shared),
        )

    def _live(self, claim: Claim, now: float) -> bool:
        return now - claim.seen <= self.lease
