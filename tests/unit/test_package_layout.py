"""The package's shape, checked from outside, as issue 11 asks: capability folders, small
modules, no mixins, no import cycle, private names kept inside their folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "s3pump"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> dict[str, list[str]]:
    """Every s3pump module ``module`` imports (anywhere in it), with the names it takes."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    found.setdefault(sub, [])
                elif target in MODULES:
                    found.setdefault(target, []).append(alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.setdefault(alias.name, [])
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _folder(module: str) -> str:
    parts = module.split(".")
    nested = len(parts) > 2 or MODULES[module].name == "__init__.py"
    return ".".join(parts[:2]) if nested else "s3pump"


def test_no_module_is_over_500_lines() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}


def test_capability_folders_and_few_flat_modules() -> None:
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    flat = [p.name for p in PACKAGE.glob("*.py")]
    assert {"_transport", "_transfer", "_local", "_run", "_mirror", "_reads"} <= folders
    assert len(flat) <= 18, flat


def test_no_class_is_a_mixin() -> None:
    mixins = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if "Mixin" in node.name or any("Mixin" in b for b in bases):
                    mixins.append(f"{name}.{node.name}({', '.join(bases)})")
    assert mixins == []


def test_the_import_graph_has_no_cycle() -> None:
    """Every import counts, lazy ones inside functions and TYPE_CHECKING ones included:
    a cycle held by one function is still a cycle."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in GRAPH[node]:
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    # a package importing its own submodules (to re-export them) is not a cycle of concern
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert real == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_private_names_stay_inside_their_folder(module: str) -> None:
    """A name used from another capability folder is that folder's interface: no underscore."""
    crossing = []
    for target, names in GRAPH[module].items():
        if _folder(target) != _folder(module) and _folder(target) != "s3pump":
            crossing += [f"{target}.{n}" for n in names if n.startswith("_")]
    assert crossing == []
