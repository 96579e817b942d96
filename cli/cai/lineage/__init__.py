"""Lineage: what each run read (sha256), and the chain from a model back to the pairs that trained it."""
