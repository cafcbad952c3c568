"""The endpoint resolution under attack: malformed or hostile configuration fails with one
clean line that leaks no secret, the CA bundle the configuration names is the one trusted
(on both transports), and a proxy's credentials reach the proxy.

Every test runs with the catch-all listener as HTTPS proxy (see tests/_endpoints.py), so a
request to anywhere unconfigured is trapped on this machine.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._endpoints import (
    CatchAll,
    TlsRelay,
    run_main,
    self_signed,
    use_aws_files,
)

TRANSPORTS = ("lean", "auto", "reference")
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
KEYS = f"aws_access_key_id = AKIDFILE\naws_secret_access_key = {SECRET}\n"


def _configure(monkeypatch: pytest.MonkeyPatch, directory: Path, config: str,
               credentials: str = f"[default]\n{KEYS}") -> None:
    use_aws_files(monkeypatch, directory, config, credentials)


def _ls(transport: str, uri: str) -> int:
    return run_main(["ls", "--max-attempts", "1", "--no-progress", "--transport", transport, uri])


@pytest.mark.parametrize(
    ("credentials", "problem"),
    [
        (f"[default]\naws_access_key_id = AKIDFILE\n{SECRET}\n", "line 3"),
        (f"aws_secret_access_key = {SECRET}\n[default]\n", "before the first [section]"),
        (f"[default]\n{KEYS}aws_secret_access_key = {SECRET}\n", "set twice"),
        (f"[default]\ns3 =\n  {SECRET}\n", "nested setting"),
        (f"[default]\n{KEYS}".encode() + b"region = \xff\xfe\n", "not valid text"),
    ],
    ids=["not-key-value", "no-section", "duplicate", "nested", "not-utf8"],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_malformed_files_fail_in_one_line_without_the_secret(
    transport: str, credentials: str | bytes, problem: str, trap: CatchAll, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(monkeypatch, tmp_path, "[default]\nendpoint_url = http://s3.example.test\n")
    path = tmp_path / "credentials"
    if isinstance(credentials, bytes):
        path.write_bytes(credentials)
    else:
        path.write_text(credentials)
    assert _ls(transport, "s3://data-bucket/") == 2
    err = capsys.readouterr().err
    assert err.startswith("s3pump: error: cannot parse ") and err.count("\n") == 1, err
    assert problem in err and str(path) in err
    assert SECRET not in err and "wJalr" not in err
    assert trap.targets() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("where", ["config", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])
def test_the_configured_ca_bundle_is_trusted(
    transport: str, where: str, trap: CatchAll, endpoint: str, bucket: str, s3: Any,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An HTTPS endpoint with a private CA: trusted when the CA bundle comes from the profile's
    ca_bundle, AWS_CA_BUNDLE or REQUESTS_CA_BUNDLE (as botocore), refused with another."""
    cert, key = self_signed(tmp_path, "server")
    other, _ = self_signed(tmp_path, "other")
    s3.put_object(Bucket=bucket, Key="tls.txt", Body=b"x")
    host, port = endpoint.removeprefix("http://").split(":")
    with TlsRelay(cert, key, host, int(port)) as url:
        monkeypatch.setenv("NO_PROXY", url.removeprefix("https://"))
        config = f"[default]\nendpoint_url = {url}\n"
        for bundle, ok in ((cert, True), (other, False)):
            if where == "config":
                _configure(monkeypatch, tmp_path, config + f"ca_bundle = {bundle}\n")
            else:
                _configure(monkeypatch, tmp_path, config)
                monkeypatch.setenv(where, bundle)
            # In a process of its own: a TLS connection closed as the run ends may be
            # collected later with a ResourceWarning, which must not land in another test.
            done = subprocess.run(
                [sys.executable, "-m", "s3pump", "ls", "--max-attempts", "1", "--no-progress",
                 "--transport", transport, f"s3://{bucket}/"],
                env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)
            if ok:
                assert done.returncode == 0 and "tls.txt" in done.stdout, done.stderr
            else:
                assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
                assert "certificate" in done.stderr.lower(), done.stderr
    assert trap.targets() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_missing_ca_bundle_is_a_clear_error(
    transport: str, trap: CatchAll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(monkeypatch, tmp_path, "[default]\nendpoint_url = https://127.0.0.1:9\n"
               f"ca_bundle = {tmp_path / 'nowhere.pem'}\n")
    assert _ls(transport, "s3://data-bucket/") != 0
    err = capsys.readouterr().err
    assert "nowhere.pem" in err and err.count("\n") == 1, err
    assert trap.targets() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_proxy_credentials_reach_the_proxy(
    transport: str, trap: CatchAll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``HTTP_PROXY=http://user:pass@host:port``: the proxy gets Proxy-Authorization (as
    botocore sends it), and the password is not printed."""
    _configure(monkeypatch, tmp_path, "[default]\nendpoint_url = http://s3.example.test\n")
    monkeypatch.setenv("HTTP_PROXY", trap.url.replace("://", "://proxyuser:pr0xy-pass@"))
    assert run_main(["ls", "-v", "--max-attempts", "1", "--no-progress", "--transport",
                  transport, "s3://data-bucket/"]) != 0
    err = capsys.readouterr().err
    # -v says where requests go, and why
    assert ("endpoint http://s3.example.test (from profile 'default' endpoint_url), region "
            f"us-east-1, auto addressing, proxy {trap.url}, default profile") in err, err
    assert "pr0xy-pass" not in err and "proxyuser" not in err
    assert trap.caught
    expected = "Basic " + base64.b64encode(b"proxyuser:pr0xy-pass").decode()
    for caught in trap.caught:
        assert caught.target.startswith("http://s3.example.test/data-bucket")
        assert caught.headers.get("proxy-authorization") == expected
