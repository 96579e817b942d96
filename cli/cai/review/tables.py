"""What `cai review` prints on stderr: plain rich tables built from the plain data the core returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table

from cai.review.items import ReviewItem


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ci(interval: Sequence[float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:.1%}, {interval[1]:.1%}]"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pairs(title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    return table


def sample_table(source: str, pairs: int, skipped: dict[str, int], items: Sequence[ReviewItem], out: str) -> Group:
    summary = _pairs("cai review sample")
    summary.add_row("judged pairs", f"{pairs} in {source}")
    if skipped:
        summary.add_row("skipped rows", ", ".join(f"{count} {kind}" for kind, count in sorted(skipped.items())))
    strata = {item.stratum.id: item.stratum for item in items}
    summary.add_row("sampled", f"{len(items)} items in {len(strata)} strata → {out}")
    detail = Table(title="strata (margin band | position consistency | principle)", title_justify="left")
    for name in ("stratum", "pairs", "sampled", "weight"):
        detail.add_column(name, justify="left" if name == "stratum" else "right")
    for stratum in sorted(strata.values(), key=lambda s: s.id):
        detail.add_row(stratum.id, str(stratum.size), str(stratum.sampled), f"{stratum.size / stratum.sampled:.2f}")
    return Group(summary, detail)


def agreement_table(figures: dict[str, Any]) -> Group:
    """The headline figures, then the breakdowns and the reliability table."""
    main = _pairs("cai review agreement")
    reviewers = ", ".join(figures["reviewers"]) or "none"
    main.add_row("reviewed", f"{figures['reviewed']} of {figures['items']} items (reviewers: {reviewers})")
    ties = f"{figures['n']} items, {figures['human_ties']} human ties excluded"
    main.add_row("agreement", f"{_pct(figures['agreement'])} {_ci(figures['agreement_ci'])} ({ties})")
    main.add_row(
        "with ties as a class", f"{_pct(figures['agreement_with_ties'])} {_ci(figures['agreement_with_ties_ci'])}"
    )
    main.add_row("Cohen's κ", f"{_num(figures['kappa'])} {_kappa_ci(figures['kappa_ci'])}")
    share = figures["weighted_coverage"]
    whole = f"(strata covering {_pct(share)} of {figures['population']} pairs)" if share is not None else ""
    main.add_row(
        "whole file (weighted)",
        f"{_pct(figures['weighted_agreement'])} {_ci(figures['weighted_agreement_ci'])} {whole}",
    )
    main.add_row(
        "Brier / ECE", f"{_num(figures['brier'])} / {_num(figures['ece'])} ({figures['calibration_n']} items with P)"
    )
    main.add_row("longer-response baseline", f"{_pct(figures['longer_baseline'])} {_ci(figures['longer_baseline_ci'])}")
    main.add_row(
        "prefers the longer",
        f"judge {_pct(figures['judge_prefers_longer'])}, humans {_pct(figures['human_prefers_longer'])}",
    )
    inter = figures["inter_reviewer"]
    if inter["method"] is not None:
        value = inter["kappa"] if inter["method"] == "cohen_kappa" else inter["alpha"]
        name = "κ" if inter["method"] == "cohen_kappa" else "Krippendorff's α"
        main.add_row("between reviewers", f"{name} {_num(value)} on {inter['items_shared']} shared items")
    reference = figures["reference"]["human_human_agreement"]
    main.add_row("reference", f"human–human agreement is typically {reference['low']:.0%}–{reference['high']:.0%}")
    if figures["bad_label_rows"] or figures["duplicate_labels"]:
        main.add_row(
            "labels", f"{figures['bad_label_rows']} bad rows skipped, {figures['duplicate_labels']} superseded"
        )
    parts: list[Any] = [main]
    for title, groups in (
        ("by principle", figures["by_principle"]),
        ("by position consistency", figures["by_position_consistency"]),
    ):
        parts.append(_groups(title, groups))
    parts.append(_reliability(figures["reliability"]))
    return Group(*parts)


def _kappa_ci(interval: Sequence[float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _groups(title: str, groups: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("group", "items", "agreement", "95% CI", "κ"):
        table.add_column(name, justify="left" if name == "group" else "right")
    for name, figures in groups.items():
        table.add_row(
            name, str(figures["n"]), _pct(figures["agreement"]), _ci(figures["agreement_ci"]), _num(figures["kappa"])
        )
    return table


def _reliability(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="reliability of the judge's P(a better)", title_justify="left")
    for name in ("bin", "items", "mean P", "humans chose a"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            f"{row['low']:.1f}–{row['high']:.1f}", str(row["count"]), f"{row['mean_p']:.3f}", _pct(row["observed"])
        )
    return table
