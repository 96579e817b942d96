"""A `datasets` save_to_disk folder written a batch at a time, for `cai export --to hf-dataset`.

`DatasetDict.save_to_disk` needs the whole dataset as one table. This writes the files it would
write, from batches: DIR/dataset_dict.json; per split, Arrow stream shards of at most
datasets' MAX_SHARD_SIZE (500 MB) named data-0000i-of-0000n.arrow, written with datasets' own
ArrowWriter (so the features sit in the schema metadata), and state.json and dataset_info.json as
save_to_disk writes them. `load_from_disk(DIR)` reads it; nothing goes to the datasets cache.
tests/cli/test_export.py compares the files with what save_to_disk writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from datasets.arrow_writer import ArrowWriter


class DatasetSplits:
    """A DatasetDict (even with one split), so `load_from_disk(DIR)["train"]` always works."""

    def __init__(self, folder: Path, names: Sequence[str], schema: pa.Schema) -> None:
        import datasets
        from datasets.utils.py_utils import convert_file_size_to_int

        self.folder = folder
        self.names = list(names)
        self.features = datasets.Features.from_arrow_schema(schema)
        self.shard_bytes = convert_file_size_to_int(datasets.config.MAX_SHARD_SIZE)
        self._shards: dict[str, list[Path]] = {name: [] for name in names}
        self._open: dict[str, tuple[ArrowWriter, int]] = {}
        for name in names:  # every split gets a shard, even one no row goes to
            (folder / name).mkdir()
            self._next_shard(name)

    def __enter__(self) -> DatasetSplits:
        return self

    def __exit__(self, *error: object) -> None:
        for writer, _ in self._open.values():
            writer.close()

    def write(self, split: str, table: pa.Table) -> None:
        writer, written = self._open[split]
        if written >= self.shard_bytes:  # a new shard only when there is a row for it
            self._close_shard(split)
            self._next_shard(split)
            writer, written = self._open[split]
        writer.write_table(table)
        self._open[split] = (writer, written + table.nbytes)

    def finish(self) -> list[Path]:
        for split in self.names:
            self._close_shard(split)
            self._name_shards(split)
        (self.folder / "dataset_dict.json").write_text(json.dumps({"splits": self.names}), encoding="utf-8")
        return sorted(path for path in self.folder.rglob("*") if path.is_file())

    def _next_shard(self, split: str) -> None:
        from datasets.arrow_writer import ArrowWriter

        path = self.folder / split / f"shard-{len(self._shards[split]):05d}.arrow"
        self._shards[split].append(path)
        self._open[split] = (ArrowWriter(features=self.features, path=str(path)), 0)

    def _close_shard(self, split: str) -> None:
        writer, _ = self._open.pop(split)
        writer.finalize()
        writer.close()

    def _name_shards(self, split: str) -> None:
        """Rename to save_to_disk's names (which hold the shard count), then write the split's json files."""
        shards = self._shards[split]
        names = [f"data-{index:05d}-of-{len(shards):05d}.arrow" for index in range(len(shards))]
        for shard, name in zip(shards, names, strict=True):
            shard.rename(shard.with_name(name))
        _write_json(self.folder / split / "state.json", _state(names), sort_keys=True)
        _write_json(self.folder / split / "dataset_info.json", _info(self.features), sort_keys=False)


def _state(files: list[str]) -> dict[str, Any]:
    """save_to_disk's state.json of a Dataset made from a table: no format, no split name, a random fingerprint."""
    from datasets.fingerprint import generate_random_fingerprint

    return {
        "_data_files": [{"filename": name} for name in files],
        "_fingerprint": generate_random_fingerprint(),
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }


def _info(features: Any) -> dict[str, Any]:
    """save_to_disk's dataset_info.json: only the first level of keys sorted (nested features keep their order)."""
    from datasets import DatasetInfo
    from datasets.utils.py_utils import asdict

    info: dict[str, Any] = asdict(DatasetInfo(features=features))
    return {key: info[key] for key in sorted(info)}


def _write_json(path: Path, data: dict[str, Any], sort_keys: bool) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=sort_keys), encoding="utf-8")
