"""Style beyond length: the style-controlled preference of a judge that rewards formatting, and flagged examples."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from cai.report.examples import PER_SIGNAL, Reservoirs, cut
from cai.report.measured import Pair
from cai.report.references import SIGNALS
from cai.report.rows import RawPair
from cai.report.run import ReportJob, run_report
from cai.report.style import markdown
from tests.report.builders import revise_row, verdict, words, write_rows

QUESTION = "Explain how vaccines train the immune system."
FORMATTED = "## Vaccines\n- **Antigens** teach the immune system.\n- Memory cells answer faster.\n"


def _judged(chosen: str, rejected: str, prefers: list[bool], first_line: int) -> list[dict[str, object]]:
    return [
        revise_row(QUESTION, chosen, rejected, verdict(0.8 if a else 0.2), line=first_line + i)
        for i, a in enumerate(prefers)
    ]


@pytest.fixture
def formatting_judge(tmp_path: Path) -> Path:
    """A judge that rewards markdown, not length, in three groups whose fit is saturated (computable by hand):
    equal length and style (2 of 4 prefer chosen); equal length, chosen formatted (8 of 10); chosen longer, equal
    style (3 of 5)."""
    plain_same = words(20, "immune"), words(20, "spleen")
    rejected_formatted = (words(20, "spleen") * 2)[: len(FORMATTED)]
    longer = words(30, "immune"), words(16, "spleen")
    rows = _judged(*plain_same, [True, True, False, False], 1)
    rows += _judged(FORMATTED, rejected_formatted, [True] * 8 + [False] * 2, 5)
    rows += _judged(*longer, [True, True, True, False, False], 15)
    return write_rows(tmp_path / "formatting.jsonl", rows)


def test_style_control_sees_a_judge_that_rewards_formatting(formatting_judge: Path) -> None:
    report = run_report(ReportJob((str(formatting_judge),), None))
    f = report.figures
    assert f["preference_raw"] == pytest.approx(13 / 19)
    # Saturated fit: the intercept is the logit of the group with Δlength = Δmarkdown = 0 (2 of 4): 0.5.
    assert f["preference_style_controlled"] == pytest.approx(0.5, abs=1e-4)
    assert f["markdown_log_odds"] == pytest.approx(math.log(4) / markdown(FORMATTED).density, abs=1e-3)
    # Length alone cannot see it: at Δlength = 0 the formatted pairs still win (10 of 14).
    assert f["preference_length_controlled"] == pytest.approx(10 / 14, abs=1e-4)
    warned = {s.name for s in SIGNALS if s.warned(f)}
    assert "preference_style_controlled" in warned and "preference_length_controlled" not in warned
    assert f["chosen_more_markdown"] == 1.0 and f["chosen_more_markdown_pairs"] == 10
    shown = report.examples["preference_style_controlled"]
    assert shown.count == 8 and len(shown.examples) == PER_SIGNAL
    assert all(example.chosen == FORMATTED for example in shown.examples)


def test_style_control_is_undefined_without_any_markdown(tmp_path: Path) -> None:
    rows = _judged(words(30, "immune"), words(16, "spleen"), [True, False, True], 1)
    figures = run_report(ReportJob((str(write_rows(tmp_path / "plain.jsonl", rows)),), None)).figures
    assert figures["preference_style_controlled"] is None and figures["markdown_log_odds"] is None
    assert figures["chosen_more_markdown"] is None and figures["chosen_more_markdown_pairs"] == 0


def test_a_fit_on_separated_choices_is_undefined_not_100_percent(tmp_path: Path) -> None:
    """The judge picks the longer side every time, and the one formatted pair's rejected: length and markdown
    separate its choices, so no maximum-likelihood fit exists (a real 8-pair run gave 99.98 % before)."""
    rows = _judged(words(30, "immune"), words(16, "spleen"), [True, True], 1)
    rows += _judged(words(16, "immune"), words(30, "spleen"), [False, False], 3)
    rows += _judged(words(16, "immune"), FORMATTED + words(10, "spleen"), [False], 5)
    figures = run_report(ReportJob((str(write_rows(tmp_path / "separated.jsonl", rows)),), None)).figures
    assert figures["preference_raw"] == pytest.approx(2 / 5)
    assert figures["preference_length_controlled"] is None and figures["preference_style_controlled"] is None
    assert figures["length_log_odds_per_100_chars"] is None and figures["markdown_log_odds"] is None


def _flagged_pair(line: int) -> tuple[Pair, RawPair]:
    raw = RawPair(line, "pairs", "plain", ({"role": "user", "content": f"q{line}"},), "x" * 50, "y", where=f"f:{line}")
    return Pair(raw.where, None, "plain", 50, 1, labelled=True), raw


def test_examples_are_a_seeded_uniform_sample_in_file_order() -> None:
    kept_lines = []
    for seed in (0, 0, 1):
        reservoirs = Reservoirs(seed)
        for line in range(1, 201):
            reservoirs.offer(*_flagged_pair(line))
        flagged = reservoirs.result()["chosen_longer"]
        assert flagged.count == 200
        kept_lines.append([int(example.where.split(":")[1]) for example in flagged.examples])
    assert kept_lines[0] == kept_lines[1] != kept_lines[2]  # seeded: the same run shows the same pairs
    assert all(lines == sorted(lines) and len(lines) == PER_SIGNAL for lines in kept_lines)
    assert max(kept_lines[0]) > PER_SIGNAL  # not just the first pairs of the file


def test_reservoir_keeps_each_flagged_pair_about_equally_often() -> None:
    hits = [0] * 30
    for seed in range(400):
        reservoirs = Reservoirs(seed)
        for line in range(30):
            reservoirs.offer(*_flagged_pair(line))
        for example in reservoirs.result()["chosen_longer"].examples:
            hits[int(example.where.split(":")[1])] += 1
    expected = 400 * PER_SIGNAL / 30  # 40 each
    assert min(hits) > expected / 2 and max(hits) < expected * 2, hits


def test_texts_are_cut_by_their_escaped_size() -> None:
    assert cut("plain", 700) == ("plain", False)
    assert cut("<" * 1000, 700) == ("<" * 175, True)  # &lt; is 4 bytes
    assert cut("é" * 1000, 700) == ("é" * 350, True)  # 2 bytes in UTF-8
    text = "".join(random.Random(0).choice("ab<&\"'é😀") for _ in range(2000))
    kept, was_cut = cut(text, 700)
    assert was_cut and text.startswith(kept)
    from markupsafe import escape

    assert 690 < len(str(escape(kept)).encode()) <= 700
