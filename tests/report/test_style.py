"""Markdown counted as the style covariate: headers, list items and bold spans per 1,000 characters."""

from __future__ import annotations

import pytest

from cai.report.style import density_delta, markdown

FORMATTED = "## Steps\n\n1. Unplug it.\n2. Wait **ten** seconds.\n- Then plug it back in.\n"


def test_each_kind_of_element_is_counted() -> None:
    counted = markdown(FORMATTED)
    assert (counted.headers, counted.list_items, counted.bold) == (1, 3, 1)
    assert counted.density == pytest.approx(1000 * 5 / len(FORMATTED))


def test_plain_prose_has_none_and_look_alikes_do_not_count() -> None:
    prose = "Unplug it, wait 10 seconds - then plug it back in. A * B = C, and 3.5 is a number. **"
    assert markdown(prose).elements == 0
    assert markdown("").density == 0.0


def test_the_delta_is_per_length_not_per_answer() -> None:
    longer_plain = FORMATTED + "x" * 1000
    assert density_delta(FORMATTED, longer_plain) > 0  # the same markdown in a longer text is less dense
    assert density_delta("plain", "plain") == 0.0
