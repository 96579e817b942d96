"""What is stripped from model output, and how responses are compared."""

from __future__ import annotations

import pytest

from cai.framing import clean_output, normalise


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Sure, here is a revised response: Call a locksmith.", "Call a locksmith."),
        ("Sure! Here's the rewritten response:\nCall a locksmith.", "Call a locksmith."),
        ("Here is my revised version of the response: Call a locksmith.", "Call a locksmith."),
        ("Revised response: Call a locksmith.", "Call a locksmith."),
        ("Revision: Call a locksmith.", "Call a locksmith."),
        ("Assistant: Call a locksmith.", "Call a locksmith."),
        ('"Call a locksmith."', "Call a locksmith."),
        ("Critique: It is rude.", "It is rude."),
        ("Call a locksmith.\nUser: thanks\nAssistant: welcome", "Call a locksmith."),
        ("It is rude.\n\nRevision request: rewrite it", "It is rude."),
        ("Call a locksmith. Here is why: it is legal.", "Call a locksmith. Here is why: it is legal."),
        ("Sure, I can help with baking.", "Sure, I can help with baking."),
        ('He said "stop" twice.', 'He said "stop" twice.'),
        ("   ", ""),
    ],
)
def test_clean_output(raw: str, clean: str) -> None:
    assert clean_output(raw) == clean


def test_normalise_ignores_case_spacing_and_end_punctuation() -> None:
    assert normalise("  The SAME\n answer. ") == normalise('"the same answer"')
    assert normalise("the same answer") != normalise("a different answer")
