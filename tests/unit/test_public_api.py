"""The public surface: __all__ is complete and importable, the CLI starts without heavy imports."""

from __future__ import annotations

import subprocess
import sys

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
