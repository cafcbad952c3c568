"""The public surface: __all__ is complete and importable, the CLI starts without heavy imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import s3pump


def test_all_names_resolve_and_are_documented() -> None:
    for name in s3pump.__all__:
        obj = getattr(s3pump, name)
        if name != "__version__":
            assert obj.__doc__, f"{name} has no docstring"
    assert sorted(s3pump.__all__) == sorted(set(s3pump.__all__))


def test_no_private_or_missing_names() -> None:
    public = {n for n in s3pump.__all__ if not n.startswith("_")}
    assert {"AsyncPump", "Pump", "download_prefix", "TransferResult", "S3PumpError",
            "parse_uri", "S3URI", "ObjectInfo"} <= public
    assert all(not n.startswith("_") or n == "__version__" for n in s3pump.__all__)


def test_every_error_is_an_s3pump_error() -> None:
    errors = [getattr(s3pump, n) for n in s3pump.__all__ if n.endswith("Error")]
    assert len(errors) >= 10
    assert all(issubclass(e, s3pump.S3PumpError) for e in errors)


def test_unknown_attribute_raises() -> None:
    try:
        s3pump.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_cli_help_does_not_import_the_engine() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from s3pump._cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "heavy = [m for m in ('aiobotocore', 'botocore', 'aiohttp', 'rich') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dir_is_all_and_nothing_is_exported_twice() -> None:
    assert dir(s3pump) == sorted(s3pump.__all__)
    assert len(s3pump.__all__) == len(set(s3pump.__all__))
    names = [n for names in s3pump._PUBLIC.values() for n in names]
    assert len(names) == len(set(names))
    assert s3pump.__all__ == ["__version__", *names]


def test_each_name_comes_from_its_listed_module() -> None:
    for module, names in s3pump._PUBLIC.items():
        for name in names:
            assert getattr(s3pump, name).__module__ == f"s3pump.{module}", name


def test_type_checking_imports_are_the_public_list() -> None:
    """The imports type checkers see re-export exactly the names of the one list."""
    tree = ast.parse(Path(s3pump.__file__).read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    imported: dict[str, list[str]] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name} is not re-exported ('X as X')"
            imported.setdefault(node.module, []).append(alias.name)
    assert {m: sorted(n) for m, n in imported.items()} == {
        m: sorted(n) for m, n in s3pump._PUBLIC.items()}


def test_import_s3pump_is_light() -> None:
    code = (
        "import sys\n"
        "import s3pump\n"
        "s3pump.__version__, s3pump.__all__, dir(s3pump)\n"
        "heavy = [m for m in ('aiobotocore', 'botocore', 'aiohttp', 'rich', 'anyio') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
