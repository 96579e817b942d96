"""Reading judged rows of every shape, and the stratified blind sample drawn from them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cai.errors import InputError
from cai.review.rows import JudgedPair, read_judged
from cai.review.sampling import allocate, draw
from tests.review.helpers import revise_row, score_row, write_jsonl


def test_every_shape_is_read_and_pointwise_rows_are_counted(tmp_path: Path) -> None:
    rows = [
        revise_row(0, p_a=0.7),
        revise_row(1),
        score_row(2, 0.3),
        score_row(3, 0.5, kind="rank"),
        score_row(4, 0.5, kind="pointwise"),
    ]
    rows.append({"prompt": "p", "response_a": "x", "response_b": "y", "scores": score_row(5, 0.6)["scores"]})
    judged = read_judged(write_jsonl(tmp_path / "mixed.jsonl", rows))
    assert [pair.key for pair in judged.pairs] == ["k000", "k001", "s002", "s003", "s005"]
    assert judged.skipped == Counter({"pointwise": 1})
    revised, plain, scored, ranked, unlabelled = judged.pairs
    assert (ranked.a, ranked.b, ranked.p_a) == ("Chosen answer 3", "Rejected 3", 0.5)  # best against worst
    assert (revised.p_a, revised.position_consistent, revised.principle) == (0.7, True, "harmful-content")
    assert plain.p_a is None and plain.a.startswith("A careful")  # a = chosen, the final revision
    assert (scored.p_a, scored.principle, scored.a) == (0.3, "honesty", "Chosen answer 2")
    assert (unlabelled.a, unlabelled.b) == ("x", "y")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("{not json", "bad.jsonl:2: invalid JSON"),
        ('["a list"]', "bad.jsonl:2: expected a JSON object"),
        ('{"prompt": "p", "chosen": "x"}', "bad.jsonl:2: rejected: field required"),
        (
            '{"prompt": "p", "chosen": "x", "rejected": "y", "cai": {"judge": {"p_a": 1.5}}}',
            "bad.jsonl:2: cai.judge: expected a pairwise verdict with p_a",
        ),
    ],
)
def test_a_bad_source_row_names_file_line_and_field(tmp_path: Path, row: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(revise_row(0)) + "\n" + row + "\n")
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        read_judged(path)


def test_allocation_gives_every_stratum_one_and_oversamples_low_margins() -> None:
    plan = allocate({"low": 50, "high": 50, "tiny": 1}, {"low": 4.0, "high": 1.0, "tiny": 1.0}, 21)
    assert plan["tiny"] == 1
    assert sum(plan.values()) == 21
    assert plan["low"] > 2 * plan["high"]
    assert allocate({"x": 3, "y": 2}, {"x": 1.0, "y": 1.0}, 10) == {"x": 3, "y": 2}


def test_sample_is_seeded_blind_and_weighted_back_to_the_population(tmp_path: Path) -> None:
    pairs = read_pairs(
        tmp_path, [revise_row(i, p_a=0.52 if i % 2 else 0.97, principle=f"p{i % 3}") for i in range(120)]
    )
    items = draw(pairs, 30, seed=7, source="pairs.jsonl")
    assert [i.item for i in items] == [i.item for i in draw(pairs, 30, seed=7, source="pairs.jsonl")]
    assert [i.item for i in items] != [i.item for i in draw(pairs, 30, seed=8, source="pairs.jsonl")]
    assert len(items) == 30 and len({i.item for i in items}) == 30
    assert sum(i.weight for i in items) == pytest.approx(120)  # Σ_h n_h · N_h/n_h = N
    low = [i for i in items if i.stratum.id.startswith("margin<0.1")]
    assert len(low) > len(items) - len(low)  # low |margin| oversampled from a 50/50 file
    assert {i.shown_A for i in items} == {"a", "b"}  # A/B order randomised
    for i in items:
        assert i.inclusion_probability == pytest.approx(i.stratum.sampled / i.stratum.size)
        assert i.text("a").startswith("A careful")  # the letters map back to the source sides


def read_pairs(folder: Path, rows: list[dict[str, Any]]) -> list[JudgedPair]:
    return read_judged(write_jsonl(folder / "rows.jsonl", rows)).pairs


def test_strata_left_out_when_n_is_small_are_chosen_by_the_seed_not_by_name() -> None:
    sizes = {f"s{i}": 1 for i in range(8)}
    factors = dict.fromkeys(sizes, 1.0)
    assert set(allocate(sizes, factors, 3, ["s7", "s5", "s0", "s1", "s2", "s3", "s4", "s6"])) == {"s7", "s5", "s0"}
    assert set(allocate(sizes, factors, 3)) == {"s0", "s1", "s2"}
