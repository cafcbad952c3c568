"""Helpers of the tests of deletes, state files, temp-file ownership and special destinations.

:func:`run_blind` runs the ``s3pump`` command in a subprocess that cannot read what the
file modes forbid, even as root: it drops ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH``
(with ``setpriv``) when the tests run as root, so that a ``chmod 000`` folder really is
unreadable to the walk, as it is to any other user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["bucket_keys", "files", "locked", "put_many", "run_blind", "run_cli", "write_files"]

_DROP = "-dac_override,-dac_read_search"


def put_many(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    """Store ``objects`` (key -> body) in ``bucket``."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                      objects.items()))


def bucket_keys(s3: Any, bucket: str, prefix: str = "") -> set[str]:
    """Every key in ``bucket`` under ``prefix``."""
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def write_files(root: Path, contents: dict[str, bytes]) -> None:
    """Create the files ``contents`` (relative POSIX path -> bytes) below ``root``."""
    for rel, body in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def files(root: Path) -> set[str]:
    """Every regular file below ``root`` (relative POSIX paths), whatever its mode."""
    out: set[str] = set()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file():
                out.add(path.relative_to(root).as_posix())
    return out


@contextmanager
def locked(directory: Path) -> Iterator[Path]:
    """``directory`` with mode 000 for the block (given back its mode afterwards)."""
    mode = directory.stat().st_mode & 0o7777
    directory.chmod(0)
    try:
        yield directory
    finally:
        directory.chmod(mode)


def _blind_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("tests run as root need setpriv (util-linux) to drop "
                           "CAP_DAC_OVERRIDE, or a chmod 000 folder stays readable")
    return [setpriv, f"--bounding-set={_DROP}", f"--inh-caps={_DROP}"]


def run_cli(args: list[str], *, blind: bool = False, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    """``python -m s3pump ARGS`` in a subprocess (with ``blind``: file modes are obeyed)."""
    argv = [*(_blind_prefix() if blind else []), sys.executable, "-m", "s3pump", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def run_blind(args: list[str]) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` with file modes obeyed, even as root."""
    return run_cli(args, blind=True)


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``--json`` summary a run printed."""
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return doc
