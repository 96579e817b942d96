"""Each side's answers: generated as flows on that side's engine, or read from a file, and cached for resume.

Generated answers are appended and fsynced to `OUT.answers.jsonl` as each chunk finishes, keyed by
a hash of the prompt and everything that decides the answer (model, sampling, seed). A rerun after
a crash reads that file back (a torn last line is cut off) and generates only what is missing, so
it never regenerates an answer it has. Two sides with the same model and settings share answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cai.engines import events
from cai.engines.events import Report
from cai.engines.protocol import Engine, Generation, Request
from cai.errors import CaiError
from cai.evaluation.inputs import Item
from cai.io.jsonl import JsonlWriter
from cai.io.keys import derived_seed, fingerprint

EMPTY_RETRIES = 2


@dataclass(frozen=True)
class Sampling:
    """How one side answers: what decides its text besides the prompt and the model."""

    max_tokens: int
    temperature: float
    top_p: float
    seed: int


@dataclass(frozen=True)
class Answer:
    """A side's answer to one prompt, or why there is none (`failure`: reason, detail)."""

    key: str
    text: str = ""
    finish_reason: str = ""
    source: str = "generated"  # or "file"
    failure: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"key": self.key, "source": self.source}
        if self.failure is not None:
            row["failure"] = list(self.failure)
        else:
            row.update(response=self.text, finish_reason=self.finish_reason)
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Answer:
        failure = row.get("failure")
        return cls(
            key=row["key"],
            text=row.get("response", ""),
            finish_reason=row.get("finish_reason", ""),
            source=row.get("source", "generated"),
            failure=(failure[0], failure[1]) if failure else None,
        )


def answer_key(item: Item, model_label: str, sampling: Sampling) -> str:
    """Names an answer by what decides it, so a rerun finds it and two identical sides share it."""
    prompt = item.row.model_dump(mode="json", exclude={"category"})
    return fingerprint({"prompt": prompt, "model": model_label, **asdict(sampling)})[:24]


def prompt_seed(item: Item, sampling: Sampling, attempt: int) -> int:
    """The same prompt, seed and attempt give the same seed whichever side asks."""
    prompt = fingerprint({"prompt": item.row.model_dump(mode="json", exclude={"category"})})
    return derived_seed(prompt, f"answer-{sampling.seed}#{attempt}")


def answer_flow(
    item: Item, key: str, sampling: Sampling, engine: Engine, stage: str, report: Report
) -> Generator[Request, Generation, Answer]:
    """One prompt answered on one side: too long is a failure, empty answers are retried with new seeds."""
    messages = item.row.conversation()
    needed = engine.prompt_tokens(messages) + sampling.max_tokens
    if needed > engine.max_model_len:
        report(events.skipped(stage, 0))
        detail = f"prompt + max_tokens = {needed} tokens > max_model_len {engine.max_model_len}"
        return Answer(key, failure=("prompt_too_long", detail))
    for attempt in range(EMPTY_RETRIES + 1):
        seed = prompt_seed(item, sampling, attempt)
        request = Request(messages, sampling.max_tokens, sampling.temperature, sampling.top_p, seed=seed)
        output = yield request
        report(events.done(stage, 0, output, records=1 if attempt == 0 else 0))
        if output.text.strip():
            return Answer(key, output.text.strip(), output.finish_reason)
    return Answer(key, failure=("empty_generation", f"empty after {EMPTY_RETRIES + 1} attempts"))


class AnswerCache:
    """Answers already made, by key; new ones are appended and fsynced per chunk (None path: memory only)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.answers: dict[str, Answer] = {}
        self.torn_lines = 0
        if path is not None:
            self._load(path)
        self.writer = JsonlWriter(path, append=True) if path is not None else None

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        complete = 0
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith(b"\n"):
                    self.torn_lines = 1
                    break
                try:
                    answer = Answer.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError, IndexError):
                    raise CaiError(
                        f"{path}:{number} is not an answer cai wrote; remove that line, or pass --overwrite"
                    ) from None
                self.answers[answer.key] = answer
                complete += len(line)
        if self.torn_lines:
            os.truncate(path, complete)

    def get(self, key: str) -> Answer | None:
        return self.answers.get(key)

    def add(self, answer: Answer) -> None:
        self.answers[answer.key] = answer
        if self.writer is not None:
            self.writer.write(answer.as_dict())

    def commit(self) -> None:
        if self.writer is not None:
            self.writer.commit()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
