"""The command line is built on the public API only, in modules of one job each."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import s3pump
from s3pump._cli.commands import COMMANDS
from s3pump._cli.options import build_parser

CLI = Path(s3pump.__file__).parent / "_cli"


def private_imports(source: str) -> list[str]:
    """The imports in ``source`` (a module of ``s3pump._cli``) that reach past the public
    API: anything of s3pump but ``from .. import <a name in __all__>`` (or the absolute
    ``s3pump`` equivalents) and the CLI's own modules (``from . import``, ``from .x``)."""
    public = set(s3pump.__all__)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.startswith("s3pump.") and a.name != "s3pump"]
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level == 1 or (node.level == 0 and node.module != "s3pump"
                                   and not (node.module or "").startswith("s3pump.")):
                continue  # the CLI's own modules, or the standard library and others
            if (node.level == 2 and node.module is None) or (
                    node.level == 0 and node.module == "s3pump"):
                found += [f"s3pump.{n}" for n in names if n not in public]
            else:
                found.append(f"{'.' * node.level}{node.module or ''}: {', '.join(names)}")
    return found


# The one reach past the public API, and why: the one-object fast path of `get` exists to
# avoid what importing the API (asyncio, anyio, the engine) costs at start-up (issue 13).
_EXCEPTIONS = {"quick.py": [".._quick.get: quick_download"]}


def test_the_cli_imports_only_public_names() -> None:
    modules = sorted(CLI.glob("*.py"))
    assert len(modules) >= 6
    used: set[str] = set()
    for module in modules:
        source = module.read_text()
        assert private_imports(source) == _EXCEPTIONS.get(module.name, []), module.name
        used |= {a.name for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.level == 2
                 for a in node.names}
    # The CLI does use the public API (the check above is not vacuous).
    assert {"AsyncPump", "RichReporter", "JsonLinesLog", "parse_uri", "S3PumpError"} <= used


def test_the_import_check_catches_private_imports() -> None:
    assert private_imports("from .._run.events import JsonLinesLog") == [
        ".._run.events: JsonLinesLog"]
    assert private_imports("from .. import _api") == ["s3pump._api"]
    assert private_imports("from s3pump._signals import SignalStop") == [
        "s3pump._signals: SignalStop"]
    assert private_imports("import s3pump._redact") == ["s3pump._redact"]
    assert private_imports("from ... import x") == ["...: x"]
    assert private_imports(
        "import json\nimport s3pump\nfrom .. import AsyncPump\nfrom s3pump import Pump\n"
        "from .output import emit\nfrom . import options\n") == []


def test_no_cli_module_over_500_lines() -> None:
    for module in CLI.glob("*.py"):
        assert len(module.read_text().splitlines()) <= 500, module.name


def test_every_verb_has_one_command() -> None:
    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "command").choices
    assert verbs is not None
    assert set(verbs) == set(COMMANDS)


def test_version_does_not_import_the_engine() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from s3pump._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--version']) == 0\n"
        "assert out.getvalue().startswith('s3pump ')\n"
        "heavy = [m for m in ('aiobotocore', 'botocore', 'aiohttp', 'rich', 'anyio') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
