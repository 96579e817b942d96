"""Human review of judged pairs: sample, label in a terminal UI, measure judge–human agreement.

Nothing here imports vLLM or the engine: review runs on a reviewer's laptop. The heavy libraries
(textual, scipy, scikit-learn, krippendorff) are imported inside the modules that need them, and
those modules are imported only by the commands that use them, so `cai --help` stays instant.
"""
