"""Engines: the protocol (`protocol`), vLLM in this process (`vllm`), vLLM servers over HTTP (`server`).

Importing this package is light: neither vLLM nor an HTTP client loads until an engine is built.
"""

from cai.engines.protocol import Engine, Generation, Message, Request

__all__ = ["Engine", "Generation", "Message", "Request"]
