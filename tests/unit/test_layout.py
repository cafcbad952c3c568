"""The shape of the code base, checked: what issue 11 asks of the layout holds and stays.

Tests import helpers from ``tests/_*.py`` and fixtures come from conftest files, never from
another test module; infrastructure fixtures (servers, pumps, proxies) are defined once.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(TESTS)): sorted(
            name for name in _imported(ast.parse(path.read_text()))
            if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
        )
        for path in _modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_test_module_sits_in_a_level_folder() -> None:
    levels = {"unit", "functional", "faults", "transport", "cli"}
    stray = [str(p.relative_to(TESTS)) for p in _modules()
             if p.name.startswith("test_") and p.parent.name not in levels]
    assert stray == []


def test_infrastructure_fixtures_are_defined_once() -> None:
    """A fixture name defined in two files means two servers or pumps that drift apart."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                "fixture" in ast.unparse(d) for d in node.decorator_list
            ):
                where[node.name].append(str(path.relative_to(TESTS)))
    shared = {"kind", "pump", "proxy", "trap", "endpoint", "s3", "bucket", "moto_server",
              "rclone", "rclone_s3", "seaweed", "pool", "server", "transport"}
    assert {name: files for name, files in where.items()
            if name in shared and len(files) > 1} == {}
