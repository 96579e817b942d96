"""One Arrow schema for every row of the file, inferred a batch at a time, and batches converted to it.

A single table of all rows used to let pyarrow infer each column from all of them, at five to eight
times the file's size in memory. Here only a batch of rows is held: each batch's schema is inferred
the same way (columns in the first row's order, types from the values), and the batches' schemas are
unified: a struct field that only later rows have (`judge`) is added after the fields seen before,
a column that is null so far takes the type found later, ints and floats give floats. For cai's
rows that is the schema the one table had. The second pass converts every batch to it, so the
train and test files share one schema and `datasets.load_dataset` reads them as one dataset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from cai.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

Provenance = Literal["struct", "json", "drop"]  # the `cai` column kept as a struct, a JSON string, or dropped
BATCH_BYTES = 4 << 20  # JSON lines held as Python rows at a time, in each pass


def shaped(row: dict[str, Any], provenance: Provenance) -> dict[str, Any]:
    """The row as exported: `cai` kept as a nested struct, a JSON string, or dropped."""
    if provenance == "struct":
        return row
    row = dict(row)
    if provenance == "drop":
        row.pop("cai", None)
    elif "cai" in row:
        row["cai"] = json.dumps(row["cai"], ensure_ascii=False, sort_keys=True)
    return row


class SchemaInference:
    """Fed every row in the first pass (`add`); `schema()` is the one schema of them all."""

    def __init__(self, provenance: Provenance) -> None:
        self.provenance = provenance
        self._columns: list[str] = []
        self._schema: pa.Schema | None = None
        self._error: str | None = None
        self._batch: list[dict[str, Any]] = []
        self._bytes = 0

    def add(self, row: dict[str, Any], size: int) -> None:
        self._batch.append(shaped(row, self.provenance))
        self._bytes += size
        if self._bytes >= BATCH_BYTES:
            self._infer()

    def end(self) -> None:
        """No more rows: infer the last batch, and let it go."""
        self._infer()

    def schema(self) -> pa.Schema:
        """Raises the error the one table gave when the rows do not fit one schema."""
        self._infer()
        if self._error is not None:
            raise _no_schema(self._error)
        assert self._schema is not None, "schema() before any row was added"
        return self._schema

    def _infer(self) -> None:
        import pyarrow as pa

        batch, self._batch, self._bytes = self._batch, [], 0
        if not batch or self._error is not None:
            return
        self._columns = self._columns or list(batch[0])
        try:
            found = pa.schema([(name, pa.array([row.get(name) for row in batch]).type) for name in self._columns])
            if self._schema is not None:
                found = pa.unify_schemas([self._schema, found], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            self._error = str(exc)
            return
        self._schema = found


def to_table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows already `shaped`, as a table of the file's schema."""
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(list(rows), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _no_schema(str(exc)) from None


def _no_schema(reason: str) -> InputError:
    return InputError(f"the rows do not fit one Arrow schema ({reason}); pass --provenance-json or --drop-provenance")
