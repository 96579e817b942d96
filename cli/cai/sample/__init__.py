"""`cai sample`: N candidates per prompt, the RL-CAI half's starting point (scored by `cai score`)."""
