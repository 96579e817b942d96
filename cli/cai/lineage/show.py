"""The chain as text: one line per node, drawn as a tree, short hashes; `--json` gives the whole of it."""

from __future__ import annotations

from cai.lineage.chain import Node

SHORT = 12


def render(node: Node) -> list[str]:
    """The tree's lines, the root first."""
    return [_line(node), *_children(node, "")]


def _children(node: Node, indent: str) -> list[str]:
    lines: list[str] = []
    for number, child in enumerate(node.children):
        last = number == len(node.children) - 1
        lines.append(f"{indent}{'└── ' if last else '├── '}{_line(child)}")
        lines.extend(_children(child, indent + ("    " if last else "│   ")))
    return lines


def _line(node: Node) -> str:
    what = node.path or node.detail or "?"
    parts = [f"{node.role}: {what}"]
    if node.path and node.detail and node.detail != node.path:
        parts.append(node.detail)
    parts.append(f"sha256 {node.sha256[:SHORT]}" if node.sha256 else "no hash")
    if node.made_by:
        parts.append(f"← {node.made_by}")
    elif node.start:
        parts.append(f"({node.start})")
    parts.extend(f"[{note}]" for note in node.notes)
    return "  ".join(parts)
