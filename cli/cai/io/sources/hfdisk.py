"""A Hugging Face dataset folder (`Dataset.save_to_disk` or `DatasetDict.save_to_disk`) as a table.

A DatasetDict needs a split: --split, or the only one it has. Rows are numbered from 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from cai.errors import InputError
from cai.io.sources.table import Broken, Cells, Table

MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def is_dataset_folder(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in MARKERS)


def dataset_table(source: str, split: str | None) -> Table:
    from datasets import DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(source)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise InputError(f"{source} cannot be read as a Hugging Face dataset folder ({exc})") from None
    if isinstance(loaded, DatasetDict):
        names = sorted(loaded)
        if split is None and len(names) != 1:
            raise InputError(f"{source} holds the splits {', '.join(names)}; choose one with --split")
        chosen = split if split is not None else names[0]
        if chosen not in loaded:
            raise InputError(f"--split {chosen}: {source} has the splits {', '.join(names)}")
        dataset, label = loaded[chosen], f"{source}[{chosen}]"
    else:
        if split is not None and split != str(loaded.split):
            raise InputError(f"--split {split}: {source} is a single Dataset (split {loaded.split}), not a DatasetDict")
        dataset, label = loaded, source

    def rows(columns: Sequence[str] | None) -> Iterator[tuple[int, Cells | Broken]]:
        selected = dataset.select_columns(list(columns)) if columns is not None else dataset
        for number, cells in enumerate(selected, start=1):
            yield number, dict(cells)

    return Table(label, tuple(dataset.column_names), rows)
