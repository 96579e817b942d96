"""What `cai eval` reads: prompt rows (with an optional category) and answers made elsewhere, keyed by id.

Prompt rows are read like `cai revise`'s (cai.io.records: line numbers, quarantine, --max-bad-rows);
a `response` makes no sense here, a `category` groups the results. An answers file is a lookup
table, so a bad row in it stops the run before any model work, naming file, line and field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cai.errors import InputError, format_location
from cai.io.records import BadRow, PromptForm
from cai.io.records import Item as Items


class EvalPrompt(PromptForm):
    """One prompt both models answer, with an optional category for the breakdown."""

    category: str | None = Field(default=None, min_length=1)

    @property
    def ident(self) -> str | None:
        return None if self.id is None else str(self.id)


def validate_eval_prompt(data: dict[str, Any]) -> EvalPrompt:
    try:
        return EvalPrompt.model_validate(data)
    except ValidationError as exc:
        raise BadRow("invalid_row", "; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    where = format_location(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (allowed: id, prompt, messages, category)"
    return f"{where}: {error['msg']}"


Item = Items[EvalPrompt]


class AnswerRow(BaseModel):
    """One answer made elsewhere: the prompt's id and the response text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | int
    response: str = Field(min_length=1)


@dataclass(frozen=True)
class AnswerFile:
    path: str
    sha256: str
    answers: dict[str, str]


def read_answer_file(path: str, option: str) -> AnswerFile:
    """Every row of an --answers-a/-b file; any bad row or repeated id is an input error (exit 2)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{option} {path}: no such file")
    data = file.read_bytes()
    answers: dict[str, str] = {}
    for number, raw in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = AnswerRow.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = format_location(first["loc"]) if first["loc"] else "row"
            raise InputError(f'{where}: {field}: {first["msg"]} (expected {{"id": ..., "response": "..."}})') from None
        key = str(row.id)
        if key in answers:
            raise InputError(f"{where}: id {key!r} appears twice in {option} {path}; keep one answer per prompt")
        answers[key] = row.response
    if not answers:
        raise InputError(f"{option} {path}: holds no answers")
    return AnswerFile(path, hashlib.sha256(data).hexdigest(), answers)
