"""Follow an output, a manifest or a model folder back through what made it: the lineage chain.

An output of cai has its manifest beside it (`OUT.manifest.json`), whose `inputs` name every file and
model the run read, with their sha256. A file input that is itself an earlier cai output has a manifest
beside it too: the chain goes on there when that manifest's `output_sha256` is the sha256 this run read
(otherwise the file was rewritten since, and the node says so). A model folder with a lineage record
(cai.lineage.record) goes on to the files that trained it and to its base model. What has no manifest
and no record is where the chain starts: a source (prompts someone wrote, a model someone downloaded).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cai.errors import InputError
from cai.lineage.record import read_record
from cai.runs.digest import data_files, file_sha256, folder_digest
from cai.runs.inputs import model_entry
from cai.runs.ledger import OutputPaths, read_manifest

MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class Node:
    """One thing in the chain: how its parent used it (`role`), what it is, and what made it."""

    role: str
    kind: str  # output | source | model | constitution
    path: str | None = None
    sha256: str | None = None
    made_by: str | None = None  # "cai revise (complete, 2026-…)", "trained (recorded 2026-…)"
    start: str | None = None  # why the chain starts here (a source, a model with no record), when it does
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # children included, as nested dicts


def trace(target: str) -> Node:
    """The chain from `target`: a cai output file, its manifest, or a model folder."""
    path = Path(target)
    if path.is_dir():
        return model_node("model", model_entry(target, target), set())
    if path.name.endswith(MANIFEST_SUFFIX):
        manifest_path = path
    else:
        found = OutputPaths.for_output(target).manifest
        assert found is not None
        manifest_path = found
    manifest = read_manifest(manifest_path) if manifest_path.exists() else None
    if manifest is None:
        raise InputError(
            f"{target}: no manifest beside it ({manifest_path.name}), so cai did not write it; "
            "give a cai output, its .manifest.json, or a model folder"
        )
    output = Path(manifest.get("output") or target)
    node = Node("output", "output", str(output.resolve()), manifest.get("output_sha256"))
    if node.sha256 is not None and output.is_file() and file_sha256(output) != node.sha256:
        node.notes.append("changed since its run: its sha256 is not the one in the manifest")
    _follow_manifest(node, manifest, {str(manifest_path.resolve())})
    return node


def _follow_manifest(node: Node, manifest: dict[str, Any], seen: set[str]) -> None:
    node.made_by = f"{manifest.get('tool', 'cai')} ({manifest.get('status', '?')}, {manifest.get('updated', '?')})"
    inputs = manifest.get("inputs")
    if not isinstance(inputs, dict):
        node.notes.append("its manifest records no inputs (written by a cai from before lineage)")
        return
    for name, entry in (inputs.get("files") or {}).items():
        node.children.append(file_node(name, entry, seen))
    constitution = inputs.get("constitution") or {}
    node.children.append(Node("constitution", "constitution", constitution.get("path"), constitution.get("sha256")))
    for name, entry in (inputs.get("models") or {}).items():
        node.children.append(model_node("model" if name == "model" else f"model {name}", entry, seen))


def file_node(role: str, entry: dict[str, Any], seen: set[str]) -> Node:
    """A file a run read: an earlier cai output (its manifest's chain follows) or a source."""
    path, recorded = entry.get("path"), entry.get("sha256")
    node = Node(role, "source", path, recorded, start="a source: no cai manifest beside it")
    if path is None:
        return node
    file = Path(path)
    if not file.exists():
        node.notes.append("missing: no longer at this path")
        return node
    current = folder_digest(file, data_files).sha256 if file.is_dir() else file_sha256(file)
    if recorded is not None and current != recorded:
        node.notes.append(f"changed since: its sha256 is now {current[:12]}")
    manifest_path = OutputPaths.for_output(path).manifest
    if file.is_dir() or manifest_path is None or not manifest_path.exists():
        return node
    key = str(manifest_path.resolve())
    if key in seen:
        node.notes.append("already shown above")
        return node
    manifest = read_manifest(manifest_path) or {}
    written = manifest.get("output_sha256")
    if recorded is not None and written != recorded:
        node.notes.append(
            f"the manifest beside it describes another version of it (output sha256 {str(written)[:12]}): "
            "the run that wrote what was read is not known"
        )
        return node
    node.kind, node.start = "output", None
    _follow_manifest(node, manifest, seen | {key})
    return node


def model_node(role: str, entry: dict[str, Any], seen: set[str]) -> Node:
    """A model a run used: the embedded one, a server's, a folder (with its lineage record, if any)."""
    kind = entry.get("kind")
    label = str(entry.get("label") or "")
    node = Node(role, "model", entry.get("path"), entry.get("sha256"), detail=label)
    if kind == "embedded":
        node.start = "cai's embedded model; sha256 of its GGUF"
        return node
    if kind == "server":
        node.start = f"served by {', '.join(entry.get('servers') or [])}: weights not hashed"
        return node
    folder = Path(node.path) if node.path else None
    if folder is None or not folder.is_dir():
        node.notes.append("not found: no folder to read a lineage record from")
        return node
    record = read_record(folder)
    current = folder_digest(folder).sha256
    if node.sha256 is None:
        node.sha256 = current
    elif current != node.sha256:
        node.notes.append(f"changed since: its weights now hash to {current[:12]}")
    key = f"model:{folder.resolve()}"
    if record is None:
        node.start = "no lineage record: where it came from is not recorded"
        return node
    if key in seen:
        node.notes.append("already shown above")
        return node
    if record.model.get("sha256") != current:
        node.notes.append("its lineage record was written for other weights (the folder changed after it)")
    node.made_by = f"trained (recorded {record.recorded}{': ' + record.note if record.note else ''})"
    for entry_file in record.trained_on:
        node.children.append(file_node("trained on", entry_file, seen | {key}))
    if record.base is not None:
        node.children.append(model_node("base", record.base, seen | {key}))
    return node
