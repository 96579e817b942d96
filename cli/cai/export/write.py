"""Writing the splits as Parquet files or a `datasets` save_to_disk folder, all or nothing.

One Arrow schema is inferred from every row before splitting, so train and test files share it and
`datasets.load_dataset` reads them as one dataset. Everything is written into a hidden staging folder
beside DIR and renamed into place at the end: an interrupted export leaves no half-written DIR.
`.cai-export.json` inside DIR records what was exported (hidden files are not data files to
`datasets`); --force replaces only a folder that holds one, or an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cai.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

Target = Literal["parquet", "hf-dataset"]
Provenance = Literal["struct", "json", "drop"]
MARKER = ".cai-export.json"


def check_target(target: Path, source: Path, force: bool) -> None:
    """Before reading anything: never overwrite by surprise, never delete a folder cai did not write."""
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file; export writes a folder: choose another DIR")
    if source.resolve().is_relative_to(target.resolve()):
        raise InputError(f"{source} is inside {target}: choose a DIR that does not hold the input")
    if not target.exists() or not any(target.iterdir()):
        return
    if not force:
        raise InputError(f"{target} already exists; pass --force to replace it, or choose another DIR")
    if not (target / MARKER).exists():
        raise InputError(
            f"{target} exists and is not a cai export (no {MARKER} in it), so --force will not delete it; "
            "remove it yourself or choose another DIR"
        )


def arrow_table(rows: Sequence[dict[str, Any]], provenance: Provenance) -> pa.Table:
    """One table, one schema; `cai` kept as a nested struct, a JSON string, or dropped."""
    import pyarrow as pa

    if provenance != "struct":
        rows = [_provenance(row, provenance) for row in rows]
    try:
        return pa.Table.from_pylist(list(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"the rows do not fit one Arrow schema ({exc}); pass --provenance-json or --drop-provenance"
        ) from None


def write_splits(
    table: pa.Table, splits: Mapping[str, Sequence[int]], target: Path, to: Target, record: dict[str, Any]
) -> list[Path]:
    """Write every split into a staging folder, then swap it in for `target`; returns the data files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would make DIR private once renamed
    try:
        parts = {name: table.take(list(indices)) for name, indices in splits.items()}
        files = _parquet(parts, staging) if to == "parquet" else _dataset(parts, staging)
        (staging / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / file.relative_to(staging) for file in files]


def _parquet(parts: Mapping[str, pa.Table], folder: Path) -> list[Path]:
    """SPLIT.parquet per split: `load_dataset("parquet", data_dir=DIR)` names the splits after the files."""
    import pyarrow.parquet as pq

    files = []
    for name, part in parts.items():
        path = folder / f"{name}.parquet"
        pq.write_table(part, path)
        files.append(path)
    return files


def _dataset(parts: Mapping[str, pa.Table], folder: Path) -> list[Path]:
    """A DatasetDict (even with one split), so `load_from_disk(DIR)["train"]` always works."""
    import datasets

    datasets.disable_progress_bars()  # stderr shows cai's own progress; --quiet must stay quiet
    datasets.DatasetDict({name: datasets.Dataset(part) for name, part in parts.items()}).save_to_disk(str(folder))
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _provenance(row: dict[str, Any], provenance: Provenance) -> dict[str, Any]:
    row = dict(row)
    if provenance == "drop":
        row.pop("cai", None)
    elif "cai" in row:
        row["cai"] = json.dumps(row["cai"], ensure_ascii=False, sort_keys=True)
    return row
