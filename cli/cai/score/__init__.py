"""`cai score`: AI feedback on existing rows (pairwise, pointwise, ranked) and the judge's reliability."""
