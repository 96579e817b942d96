"""The report's plots, drawn with matplotlib on explicit `Figure`s (never pyplot's global one).

Every plot goes through `to_svg`, which returns inline SVG text (glyphs as paths: no fonts to load,
nothing fetched) and always releases the figure. A plot with no data returns None and the page
says so instead. Scatter plots show at most `MAX_POINTS` pairs, an even stride through the file,
so a 100k-row report stays a page a browser opens at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_POINTS = 2500
STYLE: Any = {
    "svg.hashsalt": "cai-report",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_svg(figure: Figure) -> str:
    """The figure as an inline <svg> element; the figure is cleared whatever happens."""
    try:
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        text = buffer.getvalue()
        return text[text.index("<svg") :]
    finally:
        figure.clear()


def _figure(width: float = 5.2, height: float = 3.4) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _stride(values: Sequence[float]) -> list[float]:
    """At most MAX_POINTS values, an even stride through them (rounded up: 5,999 values keep 2,000, not 5,999)."""
    step = max(1, -(-len(values) // MAX_POINTS))
    return list(values[::step])


def margin_histogram(margins: Sequence[float]) -> str | None:
    if not margins:
        return None
    figure = _figure()
    ax = figure.add_subplot()
    ax.hist(margins, bins=20, range=(-1, 1), color="#4c72b0", edgecolor="white")
    ax.axvline(0, color="#999", linewidth=1)
    _label(ax, "margin = P(chosen better) − P(rejected better)", "pairs")
    return to_svg(figure)


def delta_length_vs_margin(delta: Sequence[float], margins: Sequence[float]) -> str | None:
    if not margins:
        return None
    figure = _figure()
    ax = figure.add_subplot()
    ax.scatter(_stride(delta), _stride(margins), s=18, alpha=0.7, color="#4c72b0", linewidths=0)
    ax.axhline(0, color="#999", linewidth=1)
    ax.axvline(0, color="#999", linewidth=1)
    _label(ax, "Δlength = chars(chosen) − chars(rejected)", "margin")
    return to_svg(figure)


def length_difference(len_a: Sequence[float], len_b: Sequence[float], gap: float) -> str | None:
    """The distribution of Δlength over every pair, its outer 1 % each side folded into the end bins."""
    if not len_a:
        return None
    import numpy as np

    delta = np.asarray(len_a, dtype=float) - np.asarray(len_b, dtype=float)
    low, high = (float(v) for v in np.percentile(delta, [1, 99]))
    low, high = min(low, -gap * 2), max(high, gap * 2)
    figure = _figure()
    ax = figure.add_subplot()
    ax.hist(np.clip(delta, low, high), bins=41, range=(low, high), color="#8172b3", edgecolor="white")
    ax.axvspan(-gap, gap, color="#999", alpha=0.15, linewidth=0, label=f"within {gap:.0f} chars: same length")
    ax.axvline(0, color="#999", linewidth=1)
    ax.legend(loc="upper left", frameon=False)
    _label(ax, "Δlength = chars(chosen) − chars(rejected)", "pairs")
    return to_svg(figure)


def chosen_vs_rejected_length(len_a: Sequence[float], len_b: Sequence[float]) -> str | None:
    if not len_a:
        return None
    figure = _figure(4.2, 3.8)
    ax = figure.add_subplot()
    xs, ys = _stride(len_b), _stride(len_a)
    ax.scatter(xs, ys, s=18, alpha=0.7, color="#dd8452", linewidths=0)
    top = max(max(xs), max(ys), 1)
    ax.plot([0, top], [0, top], color="#999", linewidth=1, label="same length")
    ax.legend(loc="upper left", frameon=False)
    _label(ax, "chars of rejected", "chars of chosen")
    return to_svg(figure)


def per_principle_bars(rows: Sequence[dict[str, Any]]) -> str | None:
    judged = [row for row in rows if row["pairs"]]
    if not judged:
        return None
    names = [row["principle"] for row in judged]
    figure = _figure(8.4, 0.9 + 0.28 * len(names))
    panels = figure.subplots(1, 3, sharey=True)
    specs = (("pairs", "pairs judged", "#4c72b0"), ("mean_margin", "mean margin", "#55a868"))
    for ax, (key, title, colour) in zip(panels, (*specs, ("drops", "drops (margin < 0)", "#c44e52")), strict=True):
        ax.barh(names, [row[key] or 0 for row in judged], color=colour)
        ax.set_title(title)
    panels[1].axvline(0, color="#999", linewidth=1)
    panels[2].set_xlim(0, 1)
    panels[0].invert_yaxis()
    return to_svg(figure)


def reliability_diagram(bins: Sequence[dict[str, Any]]) -> str | None:
    used = [b for b in bins if b["count"] and b["mean_p"] is not None and b["observed"] is not None]
    if not used:
        return None
    figure = _figure(4.2, 3.8)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="#999", linewidth=1, label="perfectly calibrated")
    ax.plot([b["mean_p"] for b in used], [b["observed"] for b in used], marker="o", color="#8172b3", label="judge")
    for b in used:
        ax.annotate(
            str(b["count"]), (b["mean_p"], b["observed"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", frameon=False)
    _label(ax, "judge's P(a better), binned", "share of bin humans say a is better")
    return to_svg(figure)


def length_by_round(rows: Sequence[dict[str, Any]]) -> str | None:
    if len(rows) < 2:
        return None
    figure = _figure(4.6, 3.2)
    ax = figure.add_subplot()
    ax.plot([r["round"] for r in rows], [r["mean_chars"] for r in rows], marker="o", color="#55a868")
    ax.set_xticks([r["round"] for r in rows])
    ax.set_ylim(bottom=0)
    _label(ax, "round (0 = initial response)", "mean chars")
    return to_svg(figure)


def _label(ax: Axes, x: str, y: str) -> None:
    ax.set_xlabel(x)
    ax.set_ylabel(y)


def all_plots(report: Any) -> dict[str, str | None]:
    """Every plot of a report, by the name the page uses; None where there is nothing to draw."""
    import matplotlib

    from cai.report.measured import LENGTH_GAP

    columns = report.columns
    with matplotlib.rc_context(STYLE):
        return {
            "margin_histogram": margin_histogram(columns["margin"]),
            "delta_length_vs_margin": delta_length_vs_margin(columns["delta_length"], columns["margin"]),
            "length_difference": length_difference(columns["len_a"], columns["len_b"], LENGTH_GAP),
            "chosen_vs_rejected_length": chosen_vs_rejected_length(columns["len_a"], columns["len_b"]),
            "per_principle": per_principle_bars(report.per_principle),
            "reliability": reliability_diagram(report.reliability or []),
            "length_by_round": length_by_round(report.length_by_round),
        }
