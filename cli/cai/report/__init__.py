"""`cai report`: what a preference dataset will teach — judge biases and reward-hacking signals, plotted.

rows (read cai's outputs) → measure (one pair's numbers and flags) → figures (tally, stable names)
→ plots (matplotlib SVG) + page (Jinja2) → run (the core function) → cli (the Typer command);
gates and agreement (from `cai review`) beside. docs/report.md defines every signal.
"""
