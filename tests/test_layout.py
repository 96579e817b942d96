"""The package's layout, held to what docs/architecture.md promises: imports one way, small parts.

A module "stands above" every module it imports (lazy imports inside functions included); its layer is
one more than the highest of those. A cycle, more than 12 layers, a module over 300 lines or a function
over 60 fails here, so the layout cannot rot unnoticed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import cai

PACKAGE = Path(cai.__file__).parent
MAX_LAYERS = 12


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def imports(path: Path) -> set[str]:
    """The cai modules `path` imports: `from cai.x import y` names cai.x.y when that is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cai"):
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found |= submodules
            if len(submodules) < len(node.names) and node.module in MODULES:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & MODULES.keys()
    return found


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


@functools.cache
def layer(name: str, path: tuple[str, ...] = ()) -> int:
    assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
    return 1 + max((layer(other, (*path, name)) for other in GRAPH[name]), default=0)


def test_imports_run_one_way_in_at_most_12_layers() -> None:
    layers = {name: layer(name) for name in GRAPH}
    highest = max(layers, key=layers.__getitem__)
    assert layers[highest] <= MAX_LAYERS, f"{highest} stands on layer {layers[highest]}"


def test_no_module_over_300_lines_and_no_function_over_60() -> None:
    long_modules = [name for name, path in MODULES.items() if len(path.read_text().splitlines()) > 300]
    long_functions = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long_modules == [] and long_functions == []


def test_only_engines_import_vllm_and_the_non_model_commands_never_reach_it() -> None:
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            imported = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            imported += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if any(module.split(".")[0] == "vllm" for module in imported):
                assert name.startswith("cai.engines.") or name == "cai.api", name
    for name in [n for n in GRAPH if n.startswith(("cai.review", "cai.report"))]:
        reached = reachable(name)
        assert not {m for m in reached if m.startswith(("cai.engines", "cai.runs"))}, name


def reachable(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for other in GRAPH[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen
