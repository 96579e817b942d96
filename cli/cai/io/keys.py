"""The names of things: run fingerprints, record keys and the seeds derived from them.

A record key is a hash of everything that decides a row's output — the input row and the run's
settings (its fingerprint) — so it names the row in the output, keys resume, and seeds sampling. Every
command keys its rows here; nothing else hashes a row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

KEY_CHARS = 24
KeyScheme = Literal["plain", "wrapped"]


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A run's settings (or any JSON-able mapping) as one hex digest."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def record_key(row: Any, run_fingerprint: str, scheme: KeyScheme = "plain") -> str:
    """The key of one input row (its JSON form) under one run's settings.

    `cai score` has always hashed the same payload inside a JSON object ("wrapped"); its keys stay so,
    because a key that changed would make a resumed output redo (and duplicate) every row.
    """
    payload = json.dumps([row, run_fingerprint], sort_keys=True, ensure_ascii=False)
    if scheme == "wrapped":
        return fingerprint({"row": payload})[:KEY_CHARS]
    return hashlib.sha256(payload.encode()).hexdigest()[:KEY_CHARS]


def prompt_key(conversation: Any) -> bytes:
    """A hash of a conversation (32 bytes): what groups the rows of one prompt into one split."""
    return hashlib.sha256(json.dumps(conversation, sort_keys=True, ensure_ascii=False).encode()).digest()


def pair_key(key: str, first: int, second: int) -> str:
    """The key of one pair of a ranked row's responses: it seeds that pair's principles and reasoning."""
    return f"{key}:{first}-{second}"


def derived_seed(key: str, stage: str) -> int:
    """A generation's seed: the same record and stage always sample the same way, whatever the batch."""
    return int(hashlib.sha256(f"{key}:{stage}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF
