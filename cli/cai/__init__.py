"""cai: Constitutional AI preference data from a local vLLM model."""

__version__ = "0.1.0"
