"""``get`` of one small object takes the fast path (one GET, no event loop: issue 13), and
gives exactly what the engine gives: the same bytes, the same mtime, the same summary, the
same errors. Every case the fast path does not handle goes to the engine unchanged.

Which path ran is read from outside: the ``--json`` summary's request count (the fast path
makes one request; the engine's one-object download makes a HEAD first) and, behind the
fault proxy, the requests the server saw.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump._cli import main
from tests._faults import FaultProxy

BODY = os.urandom(100_000)


def _get(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["get", "--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def _no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _same_but_timing(one: dict[str, Any], other: dict[str, Any]) -> bool:
    drop = ("elapsed", "requests")
    return {k: v for k, v in one.items() if k not in drop} == {
        k: v for k, v in other.items() if k not in drop}


def test_one_small_object_is_one_request_and_what_the_engine_writes(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="data/obj.bin", Body=BODY)
    uri = f"s3://{bucket}/data/obj.bin"
    code, quick, _ = _get(capsys, "--endpoint-url", endpoint, uri, f"{tmp_path}/fast/")
    assert code == 0 and quick["requests"] == 1 and quick["verified"] == 1
    code, engine, _ = _get(capsys, "--endpoint-url", endpoint, "--transport", "reference",
                           uri, f"{tmp_path}/engine/")
    assert code == 0 and engine["requests"] > 1
    assert _same_but_timing(quick, engine)
    fast, slow = tmp_path / "fast" / "obj.bin", tmp_path / "engine" / "obj.bin"
    assert fast.read_bytes() == slow.read_bytes() == BODY
    assert fast.stat().st_mtime == slow.stat().st_mtime  # the object's Last-Modified
    assert sorted(os.listdir(tmp_path / "fast")) == ["obj.bin"]  # no temp file left


def test_a_file_destination_is_replaced_atomically(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    target = tmp_path / "named.bin"
    target.write_bytes(b"old")
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/k", str(target))
    assert code == 0 and doc["requests"] == 1
    assert target.read_bytes() == BODY
    assert os.listdir(tmp_path) == ["named.bin"]


def test_the_summary_line_is_the_engines(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert main(["get", "--endpoint-url", endpoint, f"s3://{bucket}/k", f"{tmp_path}/"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("downloaded 1 object (97.7 KiB) in ")
    assert err.rstrip().endswith(", 1 verified")
    assert main(["get", "-q", "--endpoint-url", endpoint, f"s3://{bucket}/k",
                 f"{tmp_path}/"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("option", [["-v"], ["--transport", "reference"], ["--dry-run"],
                                    ["--exclude", "*.x"]])
def test_options_the_fast_path_does_not_do_go_to_the_engine(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    option: list[str],
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    code, doc, _ = _get(capsys, *option, "--endpoint-url", endpoint, f"s3://{bucket}/k",
                        f"{tmp_path}/")
    assert code == 0 and doc["requests"] != 1


def test_a_missing_key_is_the_engines_error(
    endpoint: str, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"s3://{bucket}/nothing-here"
    quick = main(["get", "--endpoint-url", endpoint, uri, f"{tmp_path}/"])
    quick_err = capsys.readouterr().err
    engine = main(["get", "--endpoint-url", endpoint, "--transport", "reference", uri,
                   f"{tmp_path}/"])
    assert quick == engine == 2
    assert quick_err == capsys.readouterr().err
    assert "no such key" in quick_err and os.listdir(tmp_path) == []


def test_a_key_that_is_a_folder_downloads_the_folder(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=f"dir/{name}", Body=name.encode())
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/dir",
                        f"{tmp_path}/out/")
    assert code == 0 and doc["transferred"] == 2
    assert sorted(os.listdir(tmp_path / "out")) == ["a", "b"]


def test_a_large_object_goes_to_the_engine(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = os.urandom(1024 * 1024 + 1)  # above small_object_size: streamed by the engine
    s3.put_object(Bucket=bucket, Key="big", Body=big)
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/big",
                        f"{tmp_path}/")
    assert code == 0 and doc["requests"] == 2  # a HEAD and the GET
    assert (tmp_path / "big").read_bytes() == big


def test_keys_from_the_shared_credentials_file_take_the_fast_path(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = filekey\n"
                           "aws_secret_access_key = filesecret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    _no_keys_in_the_environment(monkeypatch)
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/k",
                        f"{tmp_path}/out/")
    assert code == 0 and doc["requests"] == 1
    assert (tmp_path / "out" / "k").read_bytes() == BODY


def test_a_credential_process_goes_to_the_engine(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=BODY)
    script = tmp_path / "creds.py"
    script.write_text('import json; print(json.dumps({"Version": 1, "AccessKeyId": "pk", '
                      '"SecretAccessKey": "ps"}))\n')
    config = tmp_path / "config"
    config.write_text(f"[default]\ncredential_process = {sys.executable} {script}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    _no_keys_in_the_environment(monkeypatch)
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/k",
                        f"{tmp_path}/out/")
    assert code == 0 and doc["requests"] > 1
    assert (tmp_path / "out" / "k").read_bytes() == BODY


async def test_the_fast_path_sends_one_get_and_nothing_else(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="one/k", Body=BODY)
    proxy.requests.clear()
    proc = await anyio.run_process(
        [sys.executable, "-m", "s3pump", "get", "--endpoint-url", proxy.url,
         f"s3://{bucket}/one/k", f"{tmp_path}/"], check=False)
    assert proc.returncode == 0, proc.stderr
    assert [method for method, _ in proxy.requests] == ["GET"]
    assert (tmp_path / "k").read_bytes() == BODY


def test_an_empty_object(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/empty",
                        f"{tmp_path}/")
    assert code == 0 and doc["requests"] == 1 and doc["verified"] == 1
    assert (tmp_path / "empty").read_bytes() == b""


@pytest.mark.parametrize(("number", "key"), list(enumerate(
    ["sp ace/ü+%20.txt", "a+b=c&d;e.bin", "deep/x/y/z~!'()$@,"])))
def test_odd_keys_are_signed_right(
    rclone: Any, rclone_s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    number: int, key: str,
) -> None:
    """rclone checks every signature: a wrong one would be a 403, and the engine's path."""
    bucket = f"quick-odd-{number}"
    rclone_s3.create_bucket(Bucket=bucket)
    rclone_s3.put_object(Bucket=bucket, Key=key, Body=BODY)
    code, doc, err = _get(capsys, "--endpoint-url", rclone.url, f"s3://{bucket}/{key}",
                          str(tmp_path / "out.bin"))
    assert code == 0 and doc["requests"] == 1, err
    assert (tmp_path / "out.bin").read_bytes() == BODY


def test_a_crc64nvme_object_is_verified(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="crc", Body=BODY, ChecksumAlgorithm="CRC64NVME")
    code, doc, _ = _get(capsys, "--endpoint-url", endpoint, f"s3://{bucket}/crc",
                        f"{tmp_path}/")
    assert code == 0 and doc["requests"] == 1 and doc["verified"] == 1
    assert (tmp_path / "crc").read_bytes() == BODY
