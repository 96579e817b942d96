"""Judge–human agreement on a labelled review: the figures, as one plain dict (also the `--json` export).

An item's human label is the majority of its reviewers' A/B/tie labels mapped to source sides (an
even split is a tie; `skip` does not count). The judge's label is the side its P(a better) favours
(exactly 0.5: a tie); a revise row without a verdict carries the pipeline's implicit label "a
(chosen) is better" and has no probability, so it counts for agreement but not for calibration.
`cai report` reads this dict: keys are stable, undefined figures are null.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cai.review import stats
from cai.review.imports import BadLabel, read_label_file
from cai.review.inter import inter_reviewer
from cai.review.items import ReviewItem, read_review
from cai.review.labels import LabelEvent, default_label_files, replay

HUMAN_HUMAN = {
    "low": 0.63,
    "high": 0.77,
    "note": "human–human agreement on pairwise preferences is typically 63–77 %",
}


@dataclass(frozen=True)
class Reviewed:
    """One item with a human A/B/tie label, and what the judge said about it."""

    item: ReviewItem
    human: str  # a | b | tie (source sides)
    judge: str  # a | b | tie

    @property
    def longer(self) -> str:
        a, b = len(self.item.text("a")), len(self.item.text("b"))
        return "a" if a > b else "b" if b > a else "tie"


@dataclass
class Labels:
    by_reviewer: dict[str, dict[str, str]]  # reviewer → item → a | b | tie | skip
    files: list[str]
    bad: list[BadLabel]
    duplicates: int  # labels superseded by a later label of the same reviewer for the same item


def agreement_figures(review_path: Path, label_paths: Sequence[Path] = ()) -> dict[str, Any]:
    """Every figure for a review file and its labels (default: every labels file beside the review file)."""
    items = read_review(review_path)
    labels = collect_labels(items, list(label_paths) or default_label_files(review_path))
    return figures_for(review_path, items, labels)


def figures_for(review_path: Path, items: Sequence[ReviewItem], labels: Labels) -> dict[str, Any]:
    """The figures from labels already read (`cai review serve` reads them while no label is being written)."""
    reviewed = _reviewed(items, labels.by_reviewer)
    result: dict[str, Any] = {
        "review": str(review_path),
        "label_files": labels.files,
        "items": len(items),
        "population": items[0].population,
        "reviewers": sorted(labels.by_reviewer),
        "reviewed": len(reviewed),
        "implicit_label_items": sum(1 for r in reviewed if r.item.judge is None),
        "duplicate_labels": labels.duplicates,
        "bad_label_rows": len(labels.bad),
        "bad_labels": [bad.as_dict() for bad in labels.bad[:50]],
    }
    result.update(group_figures(reviewed, with_kappa_ci=True))
    result.update(_weighted(reviewed, items))
    result.update(_calibration(reviewed))
    result.update(_length(reviewed))
    result["by_principle"] = _by(reviewed, lambda r: r.item.principle)
    result["by_position_consistency"] = _by(reviewed, _consistency)
    result["inter_reviewer"] = inter_reviewer(items, labels.by_reviewer)
    result["reference"] = {"human_human_agreement": HUMAN_HUMAN}
    return result


def collect_labels(items: Sequence[ReviewItem], paths: Sequence[Path]) -> Labels:
    """Each reviewer's current label per item, over every file in order (later files win, like later lines)."""
    by_key = {item.item: item for item in items}
    events: dict[str, list[LabelEvent]] = defaultdict(list)
    bad: list[BadLabel] = []
    for path in paths:
        read = read_label_file(path, set(by_key))
        bad.extend(read.bad)
        for event in read.events:
            events[event.reviewer].append(event)
    by_reviewer: dict[str, dict[str, str]] = {}
    duplicates = 0
    for reviewer, log in events.items():
        current = replay(log)
        duplicates += _superseded(log)
        by_reviewer[reviewer] = {
            key: "skip" if event.label == "skip" else "tie" if event.label == "tie" else by_key[key].side(event.label)
            for key, event in current.items()
        }
    return Labels(by_reviewer, [str(p) for p in paths], bad, duplicates)


def _superseded(log: Sequence[LabelEvent]) -> int:
    undone = Counter(event.item for event in log if event.label == "undo")
    given = Counter(event.item for event in log if event.label != "undo")
    return sum(max(0, count - undone[item] - 1) for item, count in given.items())


def _reviewed(items: Sequence[ReviewItem], by_reviewer: dict[str, dict[str, str]]) -> list[Reviewed]:
    found = []
    for item in items:
        votes = Counter(labels[item.item] for labels in by_reviewer.values() if labels.get(item.item, "skip") != "skip")
        if votes:
            found.append(Reviewed(item, _majority(votes), judge_side(item)))
    return found


def _majority(votes: Counter[str]) -> str:
    a, b, tie = votes["a"], votes["b"], votes["tie"]
    if tie > max(a, b) or a == b:
        return "tie"
    return "a" if a > b else "b"


def judge_side(item: ReviewItem) -> str:
    if item.judge is None:
        return "a"  # revise without --judge: the pipeline's implicit label, chosen is better
    p = item.judge.p_a
    return "a" if p > 0.5 else "b" if p < 0.5 else "tie"


def group_figures(reviewed: Sequence[Reviewed], with_kappa_ci: bool = False) -> dict[str, Any]:
    """Agreement (ties excluded, and ties as a class) and κ for any group of reviewed items."""
    decided = [r for r in reviewed if r.human != "tie"]
    agreed = sum(1 for r in decided if r.judge == r.human)
    with_ties = sum(1 for r in reviewed if r.judge == r.human)
    judge, human = [r.judge for r in decided], [r.human for r in decided]
    figures: dict[str, Any] = {
        "n": len(decided),
        "human_ties": len(reviewed) - len(decided),
        "agreement": agreed / len(decided) if decided else None,
        "agreement_ci": stats.proportion_ci(agreed, len(decided)),
        "agreement_with_ties": with_ties / len(reviewed) if reviewed else None,
        "agreement_with_ties_ci": stats.proportion_ci(with_ties, len(reviewed)),
        "kappa": stats.kappa(judge, human),
    }
    if with_kappa_ci:
        figures["kappa_ci"] = stats.kappa_ci(judge, human)
    return figures


def _weighted(reviewed: Sequence[Reviewed], items: Sequence[ReviewItem]) -> dict[str, Any]:
    tallies: dict[str, list[int]] = {item.stratum.id: [item.stratum.size, 0, 0] for item in items}
    for r in reviewed:
        if r.human != "tie":
            tallies[r.item.stratum.id][1] += 1
            tallies[r.item.stratum.id][2] += int(r.judge == r.human)
    found = stats.stratified_proportion([stats.StratumTally(*t) for t in tallies.values()])
    if found is None:
        return {"weighted_agreement": None, "weighted_agreement_ci": None, "weighted_coverage": None}
    estimate, (low, high), coverage = found
    covered = coverage * sum(t[0] for t in tallies.values()) / items[0].population
    # pairs in strata without a reviewed item could be anything: all wrong at the low end, all right at the high
    return {
        "weighted_agreement": estimate,
        "weighted_agreement_ci": [covered * low, covered * high + (1 - covered)],
        "weighted_coverage": covered,
    }


def _calibration(reviewed: Sequence[Reviewed]) -> dict[str, Any]:
    """Calibration of P(a better) against the person's choice, on items with a verdict and no human tie."""
    scored = [r for r in reviewed if r.item.judge is not None and r.human != "tie"]
    outcomes = [int(r.human == "a") for r in scored]
    probabilities = [r.item.judge.p_a for r in scored if r.item.judge is not None]
    table = stats.reliability(outcomes, probabilities)
    return {
        "calibration_n": len(scored),
        "brier": stats.brier(outcomes, probabilities),
        "ece": stats.expected_calibration_error(table),
        "reliability": table,
    }


def _length(reviewed: Sequence[Reviewed]) -> dict[str, Any]:
    """The "always prefer the longer response" baseline on the same items, and how often each side picks longer."""
    decided = [r for r in reviewed if r.human != "tie"]
    hits = sum(1 for r in decided if r.longer == r.human)
    judged = [r for r in reviewed if r.judge != "tie" and r.longer != "tie"]
    humans = [r for r in decided if r.longer != "tie"]
    return {
        "longer_baseline": hits / len(decided) if decided else None,
        "longer_baseline_ci": stats.proportion_ci(hits, len(decided)),
        "judge_prefers_longer": sum(r.judge == r.longer for r in judged) / len(judged) if judged else None,
        "human_prefers_longer": sum(r.human == r.longer for r in humans) / len(humans) if humans else None,
    }


def _consistency(r: Reviewed) -> str:
    consistent = None if r.item.judge is None else r.item.judge.position_consistent
    return {True: "consistent", False: "inconsistent", None: "unknown"}[consistent]


def _by(reviewed: Sequence[Reviewed], key: Any) -> dict[str, Any]:
    groups: dict[str, list[Reviewed]] = defaultdict(list)
    for r in reviewed:
        groups[key(r)].append(r)
    return {name: group_figures(groups[name]) for name in sorted(groups)}
