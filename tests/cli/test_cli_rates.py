"""``--bwlimit``, ``--tpslimit`` and ``--tpslimit-burst`` on the command line: on every verb
(before it too), bad values are one-line errors with exit 2, and a limit holds a `get`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main
from s3pump._cli.options import build_parser

KiB = 1024


def test_every_verb_takes_the_rates() -> None:
    verbs = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert verbs is not None
    for name, parser in verbs.items():
        options = parser._option_string_actions
        assert {"--bwlimit", "--tpslimit", "--tpslimit-burst"} <= set(options), name


@pytest.mark.parametrize("argv, message", [
    (["--bwlimit", "fast"], "bwlimit must be a rate"),
    (["--tpslimit", "0"], "--tpslimit: must be a number of requests per second above 0"),
    (["--tpslimit", "5", "--tpslimit-burst", "0"], "must be a whole number, 1 or more"),
])
def test_bad_rates_are_one_line_errors(argv: list[str], message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "s3://some-bucket/p/", str(tmp_path), "--json", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert json.loads(captured.out)["ok"] is False


def test_a_bwlimit_before_the_verb_holds_a_get(endpoint: str, s3: Any, bucket: str,
                                               tmp_path: Path) -> None:
    data = os.urandom(768 * KiB)
    s3.put_object(Bucket=bucket, Key="o.bin", Body=data)
    start = time.monotonic()
    assert main(["--bwlimit", "256k", "get", f"s3://{bucket}/o.bin", str(tmp_path / "o.bin"),
                 "--endpoint-url", endpoint, "-q"]) == 0
    elapsed = time.monotonic() - start
    assert (tmp_path / "o.bin").read_bytes() == data
    assert elapsed >= 1.9, elapsed  # 256 KiB at once, then 512 KiB at 256 KiB/s
