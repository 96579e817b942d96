"""`cai report`: what a preference dataset will teach — judge biases and reward-hacking signals, plotted.

rows (read any pair data) → measure (one pair's numbers and flags; style: markdown density) → figures
(tally, stable names in names) → plots (matplotlib SVG) + examples (a few flagged pairs per signal) + page
(Jinja2) → run (the core function) → cli (the Typer command); gates and agreement (from `cai review`)
beside. docs/report.md defines every signal.
"""
