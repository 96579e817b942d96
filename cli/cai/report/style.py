"""Style beyond length: how much markdown a response carries, the covariate a style-controlled figure uses.

A judge that rewards formatting (headers, lists, bold) teaches it the way a length-biased judge teaches
verbosity. Arena-Hard-Auto's style control counts these per response and regresses the preference on the
normalised differences; cai counts the same three features, per 1,000 characters so that a long answer is
not "more formatted" for being long. One definition, used by `cai report` (chosen against rejected) and
`cai eval` (B against A).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)
BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
PER_CHARS = 1000.0


@dataclass(frozen=True)
class Markdown:
    """Markdown elements of one text: headers, list items and bold spans, and the text's length."""

    headers: int
    list_items: int
    bold: int
    chars: int

    @property
    def elements(self) -> int:
        return self.headers + self.list_items + self.bold

    @property
    def density(self) -> float:
        """Markdown elements per 1,000 characters (0 for an empty text)."""
        return PER_CHARS * self.elements / self.chars if self.chars else 0.0


def markdown(text: str) -> Markdown:
    """Count the markdown elements of one response."""
    return Markdown(len(HEADER.findall(text)), len(LIST_ITEM.findall(text)), len(BOLD.findall(text)), len(text))


def density_delta(a: str, b: str) -> float:
    """Markdown density of `a` minus that of `b` (elements per 1,000 characters): the style covariate."""
    return markdown(a).density - markdown(b).density
