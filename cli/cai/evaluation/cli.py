"""The `cai eval` command: parse options, run the core function, print the verdict table, check the gate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from cai.console import guarded, stderr_console, write_stats
from cai.errors import GateFailed, InputError
from cai.evaluation.prepare import EvalJob, EvalJudging, SideOptions
from cai.evaluation.run import EvalSummary, run_eval
from cai.options import Suffix, option
from cai.runs.cli import command, run_command
from cai.runs.options import Display, RunJob
from cai.runs.progress import RichProgress
from cai.runs.tables import where_rows_went


@dataclass(frozen=True)
class EvalOutputs:
    """The gate, and what else the eval writes."""

    min_win_rate: float | None = option(
        None, min=0.0, max=1.0, help="Gate: exit 3 when B's win rate over A (ties half) is below this."
    )
    min_win_rate_lower: float | None = option(
        None,
        min=0.0,
        max=1.0,
        help="Gate for CI: exit 3 when the lower bound of the 95 % interval of B's win rate is below this "
        "(the lower of the bootstrap-over-prompts and Wilson bounds).",
    )
    report_page: Path | None = option(
        None, "--report", help="Also render `cai report`'s HTML page of the output here (needs -o)."
    )
    stats_json: Path | None = option(None, help="Also write every figure of the eval here as JSON.")


@command
def evaluate(
    prompts: Annotated[str, typer.Argument(help="Prompt file: JSONL rows or plain text; - for stdin.")],
    side_a: Annotated[SideOptions, Suffix("a")] = SideOptions(),
    side_b: Annotated[SideOptions, Suffix("b")] = SideOptions(),
    judging: EvalJudging = EvalJudging(),
    outputs: EvalOutputs = EvalOutputs(),
    run: RunJob = RunJob(),
    display: Display = Display(),
) -> None:
    """Is model B better than model A? Both answer every prompt, the pairwise judge compares them.

    Each pair is judged in both orders over an ensemble of the constitution's comparison principles. The
    summary gives B's win rate over A (ties count half) with a 95 % interval, a length-controlled win
    rate, the judge's position consistency, and per-principle and per-category figures; it warns when
    the judge is one of the two models. Output rows are `cai score` pairwise rows (response_a,
    response_b, scores) plus an `eval` object: `cai review sample` and `cai report` read them.
    """
    report_page = outputs.report_page
    if report_page is not None and run.output.output in (None, "-"):
        raise typer.BadParameter("needs -o FILE (the report reads the output file)", param_hint="--report")
    for name, side in (("a", side_a), ("b", side_b)):
        if side.model is not None and side.answers is not None:
            raise typer.BadParameter(
                f"give --model-{name} or --answers-{name}, not both", param_hint=f"--answers-{name}"
            )
    job = EvalJob(prompts, side_a, side_b, judging, **run.shared())

    def work(progress: RichProgress) -> EvalSummary:
        summary = run_eval(job, progress)
        if outputs.stats_json is not None:
            write_stats(outputs.stats_json, {**summary.as_dict(), "figures": summary.figures})
        if report_page is not None and run.output.output is not None:
            _render(run.output.output, report_page)
        return summary

    summary = run_command(display, work, eval_table)
    if report_page is not None and not display.quiet:
        stderr_console().print(f"page {report_page}", markup=False, soft_wrap=True)
    if outputs.min_win_rate is not None or outputs.min_win_rate_lower is not None:
        guarded(lambda: _gate(summary, outputs), display.debug)


def _render(output: str, page: Path) -> None:
    from cai.report.run import ReportJob, run_report

    if not Path(output).exists():
        raise InputError(f"--report: {output} holds no rows to report on")
    run_report(ReportJob((output,), page))


def _gate(summary: EvalSummary, outputs: EvalOutputs) -> None:
    """Both gates read the figures of the whole output; every one that fails is listed, and the exit is 3."""
    failed = []
    for flag, minimum, figure, what in (
        ("--min-win-rate", outputs.min_win_rate, "win_rate", "B's win rate over A"),
        ("--min-win-rate-lower", outputs.min_win_rate_lower, "win_rate_lower", "the lower bound of B's win rate"),
    ):
        if minimum is None:
            continue
        value = summary.figures.get(figure)
        if value is None:
            failed.append(f"{flag} {minimum:g}: no pair was judged, so B's win rate is undefined")
        elif value < minimum:
            failed.append(f"{flag} {minimum:g}: {what} is {value:.4g}")
    if failed:
        raise GateFailed("\n".join(failed))


def eval_table(summary: EvalSummary) -> Table:
    table = where_rows_went("cai eval", summary, ("pairs judged", str(summary.judged)))
    figures = summary.figures
    models = summary.models
    same = models["a"] == models["b"] == models["judge"]
    table.add_row("models", f"A = B = judge = {models['a']}" if same else _models(models))
    generated = ", ".join(f"{side.upper()} {count}" for side, count in sorted(summary.generated.items())) or "none"
    table.add_row("answers generated", f"{generated} ({summary.reused} reused)")
    if figures.get("pairs"):
        _rates(table, figures)
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


def _rates(table: Table, figures: dict[str, Any]) -> None:
    """The raw rate with both intervals, then the length- and style-controlled rates with theirs."""
    table.add_row("win rate B over A", _verdict(figures))
    both = f"Wilson {_interval(figures['ci95'])}, bootstrap over prompts {_interval(figures['ci95_bootstrap'])}"
    table.add_row("  95 % intervals", f"{both}; lower bound {figures['win_rate_lower']:.1%}")
    chars = figures["mean_chars"]
    length = _controlled(figures["length_controlled_win_rate"], figures["length_controlled_ci95"])
    if figures["length_controlled_win_rate"] is not None and figures["b_longer_share"] in (0, 1):
        length += f" (extrapolated: B is {'longer' if figures['b_longer_share'] else 'shorter'} in every pair)"
    table.add_row("length-controlled", f"{length}; mean chars A {chars['a']:.0f}, B {chars['b']:.0f}")
    density = figures["mean_markdown_density"]
    style = _controlled(figures["style_controlled_win_rate"], figures["style_controlled_ci95"])
    covariates = figures["style_covariates"]
    controls = "length + markdown" if "markdown" in covariates else "markdown never varies: length only"
    table.add_row(
        "style-controlled",
        f"{style} ({controls}); markdown per 1,000 chars A {density['a']:.1f}, B {density['b']:.1f}",
    )


def _controlled(rate: float | None, interval: list[float] | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%} {_interval(interval)}"


def _interval(interval: list[float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:.1%}, {interval[1]:.1%}]"


def _verdict(figures: dict[str, Any]) -> str:
    low, high = figures["ci95"]
    counts = f"B {figures['b_wins']}, tie {figures['ties']}, A {figures['a_wins']} of {figures['pairs']}"
    return f"{figures['win_rate']:.1%} [{low:.1%}, {high:.1%}] ({counts})"


def _models(models: dict[str, str]) -> str:
    return f"A {models['a']}, B {models['b']}, judge {models['judge']}"
