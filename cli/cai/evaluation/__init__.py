"""`cai eval`: is model B better than model A, judged head to head, and how far can the judge be trusted.

inputs (prompt rows, answer files) → answers (generated per side, cached for resume) → run (phases,
one engine at a time) → rows (the output rows, in `cai score`'s pairwise shape) → stats (win rate,
intervals, length control, breakdowns) → cli (options, summary table, gate).
"""
