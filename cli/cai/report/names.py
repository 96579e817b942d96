"""The report's figure names: what `--json` writes, the page lists and `--max/--min` gate on, stable across releases.

docs/report.md defines each; a name here is a promise to every CI script that gates on it.
"""

from __future__ import annotations

# Every scalar figure `--json` writes and `--max/--min` can gate on, in the order the page shows them.
FIGURE_NAMES = (
    "rows",
    "pairs",
    "pointwise_rows",
    "judged_pairs",
    "mean_margin",
    "mean_chars_chosen",
    "mean_chars_rejected",
    "chosen_longer",
    "chosen_longer_pairs",
    "delta_length_median",
    "length_bias",
    "length_bias_pairs",
    "length_margin_spearman",
    "preference_raw",
    "preference_length_controlled",
    "length_log_odds_per_100_chars",
    "markdown_density_chosen",
    "markdown_density_rejected",
    "chosen_more_markdown",
    "chosen_more_markdown_pairs",
    "preference_style_controlled",
    "markdown_log_odds",
    "position_inconsistent",
    "first_wins_inconsistent",
    "refusal_chosen",
    "refusal_rejected",
    "moralising_chosen",
    "moralising_rejected",
    "drift_chosen",
    "drift_rejected",
    "truncated_chosen",
    "truncated_rejected",
    "truncated_critiques",
    "repetitive_chosen",
    "repetitive_rejected",
    "empty_side",
    "near_duplicate",
    "duplicate_pairs",
    "self_preference",
    "label_agreement",
)
# Figures of `cai review agreement --json`, folded in under their own names by --agreement.
AGREEMENT_NAMES = (
    "reviewed",
    "agreement",
    "agreement_with_ties",
    "kappa",
    "weighted_agreement",
    "brier",
    "ece",
    "longer_baseline",
)
AGREEMENT_INTERVALS = ("agreement_ci", "kappa_ci", "weighted_agreement_ci")
GATE_NAMES = FIGURE_NAMES + AGREEMENT_NAMES
