"""DESIGN §6.8: no secret key, session token or signature in the logs, at any verbosity.

The CLI runs at ``-vvv`` (botocore's debug logs print canonical requests, signatures and
signed headers) against moto on both transports, with recognisable credentials, in process
through ``main(argv)`` and as a subprocess; everything it writes is searched.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main

ACCESS_KEY = "AKIARECOGNISABLE0001"
SECRET_KEY = "sEcReT/rEcOgNiSaBlE+kEy0000000000000000"
TOKEN = "ToKeN/rEcOgNiSaBlE+sEsSiOn==tOkEn0000000000000000000000000000"
LEAKS = [
    re.compile(re.escape(SECRET_KEY)),
    re.compile(re.escape(TOKEN)),
    # Pieces of them, in case something cuts or re-encodes the values.
    re.compile(re.escape(SECRET_KEY[:16])),
    re.compile(re.escape(TOKEN[:16])),
    re.compile(r"rEcOgNiSaBlE(?:\+|%2B)(?:kEy|sEsSiOn)"),
    re.compile(r"Signature[=:]\s*[0-9a-fA-F]{8,}"),
    re.compile(r"X-Amz-Signature=(?!\*)", re.IGNORECASE),
    re.compile(r"Authorization['\"]?[:=,]\s*b?['\"]?AWS4-HMAC-SHA256 Credential=[^*]*Signature="
               r"(?!\*)"),
]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    # main() installs its handler on the root logger: take it away again.
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("s3pump").setLevel(logging.NOTSET)


def seed(s3: Any, bucket: str, tmp_path: Path) -> list[list[str]]:
    """Objects (one large enough for ranged parts), a tree to upload; the commands to run."""
    s3.put_object(Bucket=bucket, Key="d/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="d/big.bin", Body=os.urandom(17 << 20))
    up = tmp_path / "up"
    up.mkdir()
    (up / "f.txt").write_bytes(b"f")
    (up / "big.bin").write_bytes(os.urandom(9 << 20))
    return [
        ["ls", "-r", f"s3://{bucket}/"],
        ["get", f"s3://{bucket}/d/", str(tmp_path / "down")],
        ["cat", f"s3://{bucket}/d/a.txt"],
        ["put", str(up), f"s3://{bucket}/up/"],
        ["cat", f"s3://{bucket}/nope/missing.txt"],
        ["ls", "s3://no-such-bucket-here/"],
    ]


def assert_clean(text: str, transport: str) -> None:
    if transport == "reference":  # botocore's debug logs did print the signed headers
        assert "'Authorization': b'AWS4-HMAC-SHA256 Credential=" in text
        assert "'X-Amz-Security-Token': b'***'" in text
    for leak in LEAKS:
        found = leak.search(text)
        assert found is None, f"{leak.pattern!r} in: {text[max(0, found.start() - 200):][:400]}"


@pytest.mark.parametrize("source", ["environment", "profile"])
@pytest.mark.parametrize("transport", ["lean", "reference"])
def test_debug_logs_in_process_hold_no_secrets(
    credentials: None, s3: Any, bucket: str, endpoint: str, tmp_path: Path, transport: str,
    source: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile: list[str] = []
    if source == "profile":  # the redactor does not know these values: patterns must do
        creds = tmp_path / "credentials"
        creds.write_text(f"[leaky]\naws_access_key_id = {ACCESS_KEY}\n"
                         f"aws_secret_access_key = {SECRET_KEY}\naws_session_token = {TOKEN}\n")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        profile = ["--profile", "leaky"]
    codes = []
    for command in seed(s3, bucket, tmp_path):
        codes.append(main([*command[:1], "-vvv", "--no-progress", "--transport", transport,
                           "--endpoint-url", endpoint, *profile, *command[1:]]))
    out, err = capfd.readouterr()
    assert codes == [0, 0, 0, 0, 2, 2]
    assert "DEBUG" in err
    assert_clean(out + err, transport)
    cli_handlers = [h for h in logging.getLogger().handlers if "Redacting" in type(h).__name__]
    assert len(cli_handlers) == 1  # six runs of main(), one handler


@pytest.mark.parametrize("transport", ["lean", "reference"])
def test_debug_logs_of_a_subprocess_hold_no_secrets(
    s3: Any, bucket: str, endpoint: str, tmp_path: Path, transport: str
) -> None:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_SESSION_TOKEN=TOKEN)
    texts, codes = [], []
    for command in seed(s3, bucket, tmp_path):
        done = subprocess.run(
            [sys.executable, "-m", "s3pump", command[0], "-vvv", "--transport", transport,
             "--endpoint-url", endpoint, *command[1:]],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        texts.append(done.stdout + done.stderr)
        codes.append(done.returncode)
    assert codes == [0, 0, 0, 0, 2, 2]
    assert "DEBUG" in texts[1]
    assert_clean("".join(texts), transport)
