"""``--metadata``, ``--cache-control``, ... ``--acl`` on ``put``/``sync`` (moto shows each
back on HEAD), ``--sse-c``/``--sse-c-key`` on every verb that moves bytes (SeaweedFS, which
enforces SSE-C), and bad values: one line and exit 2, one JSON document with ``--json``,
never a traceback, never the key."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from s3pump._cli import main

KEY = b"K3y-of-exactly-32-bytes-for-AES!"
KEY64 = base64.b64encode(KEY).decode()
_count = iter(range(1_000_000))


def test_put_and_sync_send_every_attribute(endpoint: str, bucket: str, s3: Any,
                                           tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "page.html").write_text("<p>x</p>")
    options = ["--metadata", "owner=team-a,Run=7", "--cache-control", "no-cache",
               "--content-encoding", "gzip", "--content-disposition", "inline",
               "--content-language", "fr", "--expires", "2031-05-06T07:08:09Z",
               "--storage-class", "standard_ia", "--sse", "--acl", "bucket-owner-full-control"]
    base = ["--endpoint-url", endpoint, "-q"]
    assert main(["put", str(src / "page.html"), f"s3://{bucket}/one.html", *options, *base]) == 0
    assert main(["sync", str(src), f"s3://{bucket}/s/", *options[:2],
                 "--metadata", '{"owner": "json-form"}', *options[2:], *base]) == 0
    for key, owner in (("one.html", "team-a"), ("s/page.html", "json-form")):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "text/html"  # still guessed
        assert head["Metadata"]["owner"] == owner
        assert (head["CacheControl"], head["ContentEncoding"], head["ContentDisposition"],
                head["ContentLanguage"]) == ("no-cache", "gzip", "inline", "fr")
        assert head["ResponseMetadata"]["HTTPHeaders"]["expires"] == (
            "Tue, 06 May 2031 07:08:09 GMT")
        assert (head["StorageClass"], head["ServerSideEncryption"]) == ("STANDARD_IA", "AES256")
    assert s3.head_object(Bucket=bucket, Key="one.html")["Metadata"]["run"] == "7"


@pytest.mark.parametrize(("options", "words"), [
    (["--metadata", "novalue"], "NAME=VALUE"),
    (["--metadata", "{not json"], "JSON"),
    (["--metadata", '{"a": 1}'], "strings"),
    (["--metadata", "bad name=x"], "header token"),
    (["--storage-class", "COLD"], "storage class"),
    (["--sse", "aes"], "sse must be"),
    (["--sse-kms-key-id", "k"], "aws:kms"),
    (["--acl", "everyone"], "acl must be"),
    (["--expires", "someday"], "not a time"),
    (["--cache-control", "a\x01b"], "printable"),
    (["--sse-c", "AES256"], "--sse-c-key"),
    (["--sse-c-key", KEY64], "--sse-c"),
    (["--sse-c", "AES256", "--sse-c-key", "short"], "32 bytes"),
    (["--sse-c", "AES256", "--sse-c-key", "fileb:///no/such/key/file"], "cannot read"),
    (["--sse-c", "DES"], "invalid choice"),
])
@pytest.mark.parametrize("json_output", [False, True])
def test_bad_values_are_one_line_and_exit_2(endpoint: str, bucket: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            options: list[str], words: str,
                                            json_output: bool) -> None:
    page = tmp_path / "f.txt"
    page.write_text("x")
    code = main(["put", str(page), f"s3://{bucket}/", *options, "--endpoint-url", endpoint,
                 *(["--json"] if json_output else [])])
    out, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err
    assert "fileb" in err or KEY64 not in err
    if json_output:
        document = json.loads(out)
        assert document["ok"] is False and words in document["error"]


def test_a_key_is_never_sent_over_plain_http_off_this_host(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], trap: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", trap.url)  # a request would be caught there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    (tmp_path / "f").write_text("x")
    for transport in ("lean", "reference"):
        code = main(["put", str(tmp_path / "f"), "s3://some-bucket/f", "--transport", transport,
                     "--endpoint-url", "http://s3.example.com:9000", "--sse-c", "AES256",
                     "--sse-c-key", KEY64, "--json"])
        out, err = capsys.readouterr()
        assert code == 2 and "plain HTTP" in err, err
        assert KEY64 not in out + err and KEY.decode() not in out + err
    assert not trap.caught


@pytest.fixture
def weed(seaweed: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any, str]]:
    """SeaweedFS's URL, a boto3 client and a new bucket; s3pump's credentials set."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    s3 = boto3.client("s3", endpoint_url=seaweed.url, region_name="us-east-1",
                      aws_access_key_id=seaweed.access_key,
                      aws_secret_access_key=seaweed.secret_key,
                      config=Config(request_checksum_calculation="when_required"))
    bucket = f"cli-ssec-{next(_count)}-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    yield seaweed.url, s3, bucket


@pytest.mark.parametrize("transport", ["lean", "reference"])
def test_sse_c_round_trip_keeps_the_key_out_of_logs_and_json(
        weed: tuple[str, Any, str], tmp_path: Path, transport: str,
        capfd: pytest.CaptureFixture[str]) -> None:
    url, s3, bucket = weed
    key_file = tmp_path / "key.bin"
    key_file.write_bytes(KEY)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a" * 100)
    (src / "big.bin").write_bytes(os.urandom(17 << 20))  # ranged parts down, multipart up
    base = ["--endpoint-url", url, "--transport", transport, "-vvv", "--no-progress"]
    forms = [KEY.decode(), KEY64, f"fileb://{key_file}"]
    codes = [
        main(["put", str(src), f"s3://{bucket}/d/", "--sse-c", "AES256", "--sse-c-key",
              forms[0], *base]),
        main(["get", f"s3://{bucket}/d/", str(tmp_path / "down"), "--sse-c", "AES256",
              "--sse-c-key", forms[1], "--json", *base]),
        main(["sync", f"s3://{bucket}/d/", str(tmp_path / "mirror"), "--sse-c", "AES256",
              "--sse-c-key", forms[2], *base]),
        main(["cat", f"s3://{bucket}/d/a.txt", "--sse-c", "AES256", "--sse-c-key", KEY64,
              *base]),
        main(["get", f"s3://{bucket}/d/a.txt", str(tmp_path / "nokey"), *base]),
        main(["get", f"s3://{bucket}/d/a.txt", str(tmp_path / "wrong"), "--json", "--sse-c",
              "AES256", "--sse-c-key", "x" * 32, *base]),
    ]
    out, err = capfd.readouterr()
    assert codes[:4] == [0, 0, 0, 0] and codes[4] != 0 and codes[5] != 0, (codes, err[-3000:])
    for folder in ("down", "mirror"):
        assert (tmp_path / folder / "big.bin").read_bytes() == (src / "big.bin").read_bytes()
    assert "a" * 100 in out
    assert "DEBUG" in err and "SSE-C" in err
    assert not (tmp_path / "nokey").exists() and not (tmp_path / "wrong").exists()
    if transport == "reference":  # botocore's debug logs did print the key's parameters
        assert "SSECustomerKey': '***'" in err
    for secret in (KEY.decode(), KEY64, KEY64[:16], base64.b64encode(b"x" * 32).decode()):
        assert secret not in out + err
    s3.head_object(Bucket=bucket, Key="d/big.bin", SSECustomerAlgorithm="AES256",
                   SSECustomerKey=KEY)
