"""Who sees which item (`cai.review.web.state`): review order, overlap, claims, skips; no web code involved."""

from __future__ import annotations

from cai.review.web.state import Assignment, overlap_items


def keys(count: int) -> list[str]:
    return [f"i{index}" for index in range(count)]


def test_overlap_marks_the_rounded_share_spread_over_the_order() -> None:
    assert overlap_items(10, 0.2) == [False, False, False, False, True, False, False, False, False, True]
    assert sum(overlap_items(200, 0.29)) == 58  # exact integers: 200 × 0.29 is 57.99999… in floats
    assert sum(overlap_items(7, 0.0)) == 0 and all(overlap_items(7, 1.0))


def test_one_reviewer_gets_the_terminal_order_and_resumes_at_the_first_open_item() -> None:
    board = Assignment(keys(5))
    board.update("ana", {"i0": "A", "i2": "skip"})
    claim = board.current("ana", now=0)
    assert claim is not None and claim.index == 1
    board.update("ana", {"i0": "A", "i1": "B", "i2": "skip"})
    assert board.advance("ana", 1, now=1) is not None and board.claims["ana"].index == 3
    board.update("ana", {key: "A" for key in keys(5)})
    assert board.current("ana", now=2) is None


def test_after_a_label_the_next_item_wraps_like_the_terminal_ui() -> None:
    board = Assignment(keys(4))
    board.update("ana", {"i2": "A", "i3": "A"})
    assert board.next_for("ana", after=2, now=0) == 0  # nothing open after it: back to the first open item


def test_two_reviewers_at_once_get_different_items_and_shared_ones_go_to_both() -> None:
    board = Assignment(keys(10), overlap=0.2)  # i4 and i9 are shared
    seen: dict[str, list[int]] = {"ana": [], "bo": []}
    labels: dict[str, dict[str, str]] = {"ana": {}, "bo": {}}
    for step in range(12):
        for name in ("ana", "bo"):
            claim = board.current(name, now=step)
            if claim is None:
                continue
            seen[name].append(claim.index)
            labels[name][board.keys[claim.index]] = "A"
            board.update(name, labels[name])
    everyone = seen["ana"] + seen["bo"]
    assert sorted(everyone) == sorted([*range(10), 4, 9])  # each item once, the shared ones twice
    assert 4 in seen["ana"] and 4 in seen["bo"] and 9 in seen["ana"] and 9 in seen["bo"]
    assert board.progress("ana").complete == 10


def test_a_claim_holds_an_item_until_its_lease_runs_out() -> None:
    board = Assignment(keys(3), lease=60)
    first = board.current("ana", now=0)
    assert first is not None and first.index == 0
    other = board.current("bo", now=10)
    assert other is not None and other.index == 1  # i0 is on ana's screen
    board.claims.pop("bo")
    late = board.current("bo", now=100)
    assert late is not None and late.index == 0  # ana has been silent for 100 s > 60 s


def test_a_skip_does_not_count_so_the_item_goes_to_someone_else() -> None:
    board = Assignment(keys(2))
    board.update("ana", {"i0": "skip", "i1": "A"})
    assert board.current("ana", now=0) is None
    claim = board.current("bo", now=0)
    assert claim is not None and claim.index == 0
    progress = board.progress("bo")
    assert (progress.mine, progress.complete, progress.labels, progress.reviewers) == (0, 1, 2, 1)


def test_an_undone_item_comes_back_to_the_screen_that_undid_it() -> None:
    board = Assignment(keys(3))
    board.update("ana", {"i0": "A", "i1": "B"})
    board.move("ana", 1, now=5)
    board.update("ana", {"i0": "A"})
    claim = board.current("ana", now=6)
    assert claim is not None and (claim.index, claim.shown) == (1, 5)
