"""Table rows into validated rows: which columns hold the prompt and id, and the same quarantine as JSONL.

A cell that is empty (or null) counts as absent. For `cai revise` the prompt column holds text (a
prompt) or a list of chat turns (messages); a table without that column but with `chosen`/`rejected`
columns is read as hh-rlhf transcripts (cai.io.hh). Every row is numbered; a bad one becomes a
Reject naming the column, like a bad JSONL line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cai.errors import InputError
from cai.io import hh
from cai.io.records import BadRow, PromptRow, Reject, Scan, reject, validate_prompt_row
from cai.io.sources.table import Broken, Cells, Table

T = TypeVar("T")
DEFAULT_PROMPT_COLUMN = "prompt"


@dataclass(frozen=True)
class PromptColumns:
    """--prompt-column (None: `prompt`, else hh-rlhf columns) and --id-column (None: `id` if there is one)."""

    prompt: str | None = None
    id: str | None = None
    hh_response: hh.HHResponse = "drop"

    def select(self, table: Table) -> tuple[list[str], Callable[[Cells], PromptRow]]:
        """The columns to read and how a row of them becomes a PromptRow; a missing column stops the run."""
        names = table.names
        if self.id is not None and self.id not in names:
            raise InputError(f"{table.label} has no column {self.id!r} (--id-column); its columns: {_list(names)}")
        id_column = self.id if self.id is not None else ("id" if "id" in names else None)
        ids = [id_column] if id_column else []
        prompt = self.prompt or DEFAULT_PROMPT_COLUMN
        if prompt in names:
            return [prompt, *ids], lambda cells: self._prompt_row(cells, prompt, id_column)
        transcripts = [name for name in hh.TRANSCRIPT_FIELDS if name in names]
        if self.prompt is None and transcripts:
            return [*transcripts, *ids], lambda cells: self._hh_row(cells, id_column)
        raise InputError(
            f"{table.label} has no column {prompt!r}; its columns: {_list(names)}. "
            "Name the prompt column with --prompt-column"
        )

    @staticmethod
    def _prompt_row(cells: Cells, column: str, id_column: str | None) -> PromptRow:
        value = cells.get(column)
        where = f"column {column!r}"
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BadRow("empty_prompt", f"{where} is empty")
        if not isinstance(value, str | list):
            raise BadRow("invalid_row", f"{where}: expected text or a list of chat turns, got {type(value).__name__}")
        row: dict[str, Any] = {"prompt": value} if isinstance(value, str) else {"messages": value}
        if id_column and cells.get(id_column) is not None:
            row["id"] = _id(cells[id_column])
        try:
            return validate_prompt_row(row)
        except BadRow as bad:
            raise BadRow(bad.reason, f"{where}: {bad.detail}") from None

    def _hh_row(self, cells: Cells, id_column: str | None) -> PromptRow:
        row = {name: cells[name] for name in hh.TRANSCRIPT_FIELDS if cells.get(name) is not None}
        if not row:
            raise BadRow("empty_prompt", "columns 'chosen' and 'rejected' are empty")
        if id_column and cells.get(id_column) is not None:
            row["id"] = _id(cells[id_column])
        return hh.prompt_row(row, self.hh_response)


def _id(value: Any) -> str | int:
    return value if isinstance(value, str | int) and not isinstance(value, bool) else str(value)


def _list(names: Sequence[str]) -> str:
    return ", ".join(names) or "(none)"


def scan_table(
    table: Table, columns: Sequence[str] | None, validate: Callable[[Cells], T], max_row_bytes: int
) -> Scan[T]:
    """Every row of the table validated, or quarantined with its row number and reason."""
    return Scan.collect(table.label, iter_table(table, columns, validate, max_row_bytes))


def iter_table(
    table: Table, columns: Sequence[str] | None, validate: Callable[[Cells], T], max_row_bytes: int
) -> Iterator[tuple[int, T | Reject]]:
    """Each row of the table, numbered as the user finds it, as a validated row or its Reject."""
    for number, row in table.rows(columns):
        if isinstance(row, Broken):
            yield number, reject(number, row.raw, row.bad.reason, row.bad.detail)
            continue
        cells = present(row)
        raw = json.dumps(cells, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")
        try:
            if len(raw) > max_row_bytes:
                raise BadRow("too_large", f"row is {len(raw)} bytes; the limit is {max_row_bytes} (--max-row-bytes)")
            yield number, validate(cells)
        except BadRow as bad:
            yield number, reject(number, raw, bad.reason, bad.detail)


def present(cells: Cells) -> Cells:
    """The non-null cells, as JSON values (a date or bytes cell becomes its text), so any row can be written."""
    kept = {name: value for name, value in cells.items() if value is not None}
    return dict(json.loads(json.dumps(kept, ensure_ascii=False, default=str)))
