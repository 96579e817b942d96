"""Render a `Report` as one self-contained HTML page: inline CSS, inline SVG plots, no script, no URL.

Jinja2 with autoescape: row ids, principle names, file names and the flagged examples' texts come from user
data. The only
markup let through unescaped is the SVG matplotlib drew and the JSON blob (with `<` escaped), which
is the same object `--json` writes, so the page carries its own data.
"""

from __future__ import annotations

import json
from typing import Any

from cai.report.figures import Report
from cai.report.names import FIGURE_NAMES
from cai.report.references import SIGNALS

PAGE_LIMIT = 1_000_000  # bytes: plots are strided (plots.MAX_POINTS) and examples cut (examples.cut) to stay under it
CAPTIONS = {
    "margin_histogram": "How decided the judge is: margin of each judged pair (> 0 prefers chosen).",
    "delta_length_vs_margin": "Does the margin follow length? Each dot a judged pair.",
    "length_difference": "How much longer chosen is than rejected, over every pair (the outer 1 % at the ends).",
    "chosen_vs_rejected_length": "Length of chosen against rejected; above the line, chosen is longer.",
    "per_principle": "Per comparison principle: pairs judged, mean margin, share where it prefers rejected.",
    "reliability": "Reliability: the judge's probability against what human reviewers chose.",
    "length_by_round": "Mean length of the response after each revision round.",
}


def render(report: Report, plots: dict[str, str | None], version: str) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("cai.report", "templates"), autoescape=select_autoescape(default=True))
    env.filters["figure"] = _format
    template = env.get_template("report.html.j2")
    blob = json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    return template.render(
        report=report,
        version=version,
        signals=[(s, s.shown(report.figures), s.warned(report.figures)) for s in SIGNALS],
        flagged=[
            (s, s.shown(report.figures), report.examples[s.name])
            for s in SIGNALS
            if s.warned(report.figures) and s.name in report.examples
        ],
        plots=[(name, Markup(svg) if svg else None, CAPTIONS[name]) for name, svg in plots.items()],
        names=[name for name in report.figures if name in FIGURE_NAMES or report.figures[name] is not None],
        data=Markup(blob),
    )


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)
