"""What an output file already holds, so a rerun resumes instead of redoing or duplicating rows.

Beside `OUT` live `OUT.rejects.jsonl` (rows that did not become pairs: quarantined or dropped,
each with its key) and `OUT.manifest.json` (the run's parameters, versions, counts and the
output's sha256, replaced atomically). Keys in either file are done; a last line without its
newline is a crash mid-write and is cut off before the run appends anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from cai.errors import CaiError, InputError
from cai.io.records import Keyed, Reject, split_duplicates
from cai.judge import recorded_format

KeyOf = Callable[[Any], str]


@dataclass(frozen=True)
class OutputPaths:
    """Where rows, rejects and the manifest go; `output` None means stdout (no resume, no manifest)."""

    output: Path | None
    rejects: Path
    manifest: Path | None
    lock: Path | None = None  # held while a run writes (cai.runs.lock)

    @classmethod
    def for_output(cls, output: str | None, rejects: str | None = None, command: str = "revise") -> OutputPaths:
        if output in (None, "-"):
            return cls(None, Path(rejects or f"cai-{command}.rejects.jsonl"), None)
        path = Path(output)
        stem = path.with_suffix("") if path.suffix else path
        rejects_path = Path(rejects) if rejects else Path(f"{stem}.rejects.jsonl")
        return cls(path, rejects_path, Path(f"{stem}.manifest.json"), Path(f"{stem}.lock"))


@dataclass(frozen=True)
class Holdings:
    """Keys already written (as pairs or as rejects) and how many lines each file holds."""

    pair_keys: frozenset[str]
    reject_keys: frozenset[str]
    torn_lines: int

    @property
    def done(self) -> frozenset[str]:
        return self.pair_keys | self.reject_keys

    @classmethod
    def empty(cls) -> Holdings:
        return cls(frozenset(), frozenset(), 0)


K = TypeVar("K", bound=Keyed)


@dataclass(frozen=True)
class Resume(Generic[K]):
    """What this run still has to do once what the output already holds is set aside."""

    holdings: Holdings
    todo: list[K]
    new_rejects: list[Reject]
    input_rows: int

    @property
    def already_done(self) -> int:
        return self.input_rows - len(self.todo) - len(self.new_rejects)


def read_resume(
    paths: OutputPaths,
    parameters: Mapping[str, Any],
    overwrite: bool,
    items: Sequence[K],
    rejects: Sequence[Reject],
    key_of: KeyOf,
    readonly: bool = False,
) -> Resume[K]:
    """Check and repair OUT (if writing to a file), then keep only the rows and rejects not yet in it.

    `readonly` (a dry run) checks and reads OUT but changes nothing: no --overwrite deletion, no repair.
    """
    holdings = prepare_resume(paths, parameters, overwrite, key_of, readonly) if paths.output else Holdings.empty()
    unique, duplicates = split_duplicates(items)
    return Resume(
        holdings=holdings,
        todo=[item for item in unique if item.key not in holdings.done],
        new_rejects=[entry for entry in [*rejects, *duplicates] if entry.key not in holdings.done],
        input_rows=len(items) + len(rejects),
    )


def prepare_resume(
    paths: OutputPaths, parameters: Mapping[str, Any], overwrite: bool, key_of: KeyOf, readonly: bool = False
) -> Holdings:
    """Check that OUT belongs to this run's parameters, repair torn tails, and read the done keys."""
    assert paths.output is not None and paths.manifest is not None
    if overwrite and readonly:
        return Holdings.empty()
    if overwrite:
        for path in (paths.output, paths.rejects, paths.manifest):
            path.unlink(missing_ok=True)
    existing = paths.output.exists() and paths.output.stat().st_size > 0
    manifest = read_manifest(paths.manifest)
    if existing and manifest is None:
        raise InputError(
            f"{paths.output} exists but has no manifest ({paths.manifest.name}), so cai cannot tell which run wrote "
            "it; pass --overwrite to replace it, or choose another -o"
        )
    if manifest is not None:
        _check_parameters(manifest, parameters, paths.output)
    pair_keys, torn_pairs = _repair_and_read_keys(paths.output, key_of, repair=not readonly)
    reject_keys, torn_rejects = _repair_and_read_keys(paths.rejects, lambda row: row["key"], repair=not readonly)
    torn = torn_pairs + torn_rejects
    return Holdings(frozenset(pair_keys), frozenset(reject_keys), torn)


def _check_parameters(manifest: Mapping[str, Any], parameters: Mapping[str, Any], output: Path) -> None:
    before = dict(manifest.get("parameters", {}))
    _check_judge_format(recorded_format(before), recorded_format(parameters), output)
    if "format" in parameters:  # cai revise --format; manifests from before --format hold TRL rows
        before.setdefault("format", "trl")
        _check_format(before["format"], parameters["format"], output)
    changed = sorted(key for key in set(before) | set(parameters) if before.get(key) != parameters.get(key))
    if changed:
        details = "; ".join(f"{key}: {before.get(key)!r} then, {parameters.get(key)!r} now" for key in changed)
        raise InputError(
            f"{output} was written with other parameters ({details}). Resuming would mix two runs in one "
            "file: rerun with the same options, pass --overwrite to start over, or choose another -o"
        )


def _check_judge_format(before: int | None, now: int | None, output: Path) -> None:
    """Verdicts read with two judge formats (prompt layout, reading method) must never share one file."""
    if before is not None and now is not None and before != now:
        raise InputError(
            f"{output} holds verdicts of judge format {before}, and this cai reads verdicts with judge format {now}; "
            "one file would mix verdicts read two ways. Pass --overwrite to judge every row again, or choose another -o"
        )


def _check_format(before: str, now: str, output: Path) -> None:
    """A named refusal: appending rows of another shape would leave a file no loader reads whole."""
    if before != now:
        raise InputError(
            f"{output} holds --format {before} rows and this run asks for --format {now}; one file holds one "
            f"row shape. Rerun with --format {before} to resume it, choose another -o, or pass --overwrite to "
            "start over (cai export converts a finished file of any format to Parquet or a datasets folder)"
        )


def _repair_and_read_keys(path: Path, key_of: KeyOf, repair: bool = True) -> tuple[set[str], int]:
    """Keys of every complete line; a torn last line (no newline) is truncated away."""
    keys: set[str] = set()
    if not path.exists():
        return keys, 0
    complete_bytes = 0
    torn = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                torn = 1
                break
            try:
                keys.add(key_of(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                raise CaiError(
                    f"{path}:{number} is not a row cai wrote (the file was changed by hand?); "
                    "fix or remove that line, or pass --overwrite to start over"
                ) from None
            complete_bytes += len(line)
    if torn and repair:
        os.truncate(path, complete_bytes)
    return keys, torn


def finished(paths: OutputPaths) -> bool:
    """The output's manifest says its run completed: a rerun with nothing new must not touch a byte."""
    if paths.manifest is None:
        return False
    manifest = read_manifest(paths.manifest)
    return manifest is not None and manifest.get("status") == "complete"


def read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise CaiError(f"{path} is unreadable ({exc}); pass --overwrite to start over") from None
    if not isinstance(data, dict):
        raise CaiError(f"{path} is not a cai manifest; pass --overwrite to start over")
    return data


def write_manifest(path: Path, data: Mapping[str, Any]) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over: never a half manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
