"""The AI judge: pairwise preferences read from option log-probabilities, pointwise rubric scores.

`FORMAT_VERSION` names how verdicts are read (the prompt layout and the reading method). Every command
that writes verdicts records it in its manifest; a resume across two formats is refused, because one
file would then mix verdicts read two ways.
"""

FORMAT_VERSION = 3  # 2: the next token's top-k read, shared text first; 3: the instruction in the shared text too
