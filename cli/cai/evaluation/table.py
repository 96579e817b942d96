"""The summary of `cai eval` on stderr: where the prompts went, then the verdict and how far to trust it."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from cai.evaluation.run import EvalSummary
from cai.runs.console import where_rows_went


def eval_table(summary: EvalSummary) -> Table:
    table = where_rows_went("cai eval", summary, ("pairs judged", str(summary.judged)))
    figures = summary.figures
    models = summary.models
    same = models["a"] == models["b"] == models["judge"]
    table.add_row("models", f"A = B = judge = {models['a']}" if same else _models(models))
    generated = ", ".join(f"{side.upper()} {count}" for side, count in sorted(summary.generated.items())) or "none"
    table.add_row("answers generated", f"{generated} ({summary.reused} reused)")
    if figures.get("pairs"):
        table.add_row("win rate B over A", _verdict(figures))
        lc = figures["length_controlled_win_rate"]
        chars = figures["mean_chars"]
        length = "n/a" if lc is None else f"{lc:.1%}"
        if lc is not None and figures["b_longer_share"] in (0, 1):  # Δlength = 0 lies outside the data
            length += f" (extrapolated: B is {'longer' if figures['b_longer_share'] else 'shorter'} in every pair)"
        table.add_row("length-controlled", f"{length}; mean chars A {chars['a']:.0f}, B {chars['b']:.0f}")
        table.add_row("mean P(B better)", f"{figures['mean_p_b']:.3f}")
        consistent = figures["position_consistent"]
        on_them = _verdict(consistent) if consistent["pairs"] else "no pairs"
        table.add_row("position-consistent", f"{figures['position_consistency_rate']:.1%}; on those: {on_them}")
        for name, row in figures["by_principle"].items():
            share = f"B preferred {row['b_preferred']:.0%} of {row['pairs']}, mean P(B) {row['mean_p_b']:.3f}"
            table.add_row(f"  principle {name}", share)
        for name, row in figures["by_category"].items():
            table.add_row(f"  category {name}", _verdict(row))
    for warning in summary.warnings:
        table.add_row(Text("warning", style="bold yellow"), Text(warning, style="yellow"))
    table.add_row("tokens", f"{summary.prompt_tokens} prompt, {summary.output_tokens} generated")
    if summary.dtype:
        table.add_row("dtype", f"{summary.dtype}: {summary.dtype_reason}")
    loads = f", {summary.engine_loads} model load(s)" if summary.engine_loads else ""
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s (model load {summary.load_seconds:.1f} s{loads})")
    return table


def _verdict(figures: dict[str, Any]) -> str:
    low, high = figures["ci95"]
    counts = f"B {figures['b_wins']}, tie {figures['ties']}, A {figures['a_wins']} of {figures['pairs']}"
    return f"{figures['win_rate']:.1%} [{low:.1%}, {high:.1%}] ({counts})"


def _models(models: dict[str, str]) -> str:
    return f"A {models['a']}, B {models['b']}, judge {models['judge']}"
