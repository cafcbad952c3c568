"""``--inventory`` against moto: a hand-made S3 Inventory (manifest.json + gzipped CSV files
in an inventory bucket) is the listing of ``get`` and ``sync``; no ListObjectsV2 is sent
to the source; a corrupt data file (MD5 mismatch) stops the run with exit 2 and nothing
written; an object deleted since the inventory is a note, not a failure; another bucket's
inventory, ORC, and ``--delete`` are one-line errors (exit 2)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from s3pump._cli import main
from tests._access_proxy import AccessProxy
from tests._data import local_tree, put_many

SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsLatest, IsDeleteMarker"
OBJECTS = {
    "ds/a.bin": b"alpha" * 100,
    "ds/sub/b c+d.txt": b"spaces and a plus",
    "ds/sub/ä.txt": b"unicode",
    "other/x.bin": b"not below the prefix",
}


def _rows(s3: Any, bucket: str, keys: list[str]) -> list[list[str]]:
    rows = []
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        rows.append([bucket, quote_plus(key, safe="/"), str(head["ContentLength"]),
                     head["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     head["ETag"].strip('"'), "STANDARD", "true", "false"])
    # A version that is not the latest and a delete marker: both left out.
    rows.append([bucket, "ds/old.bin", "3", "2020-01-01T00:00:00.000Z", "abc", "STANDARD",
                 "false", "false"])
    rows.append([bucket, "ds/deleted.bin", "", "2020-01-01T00:00:00.000Z", "", "", "true",
                 "true"])
    return rows


def _gz_csv(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return gzip.compress(text.getvalue().encode())


def _inventory(s3: Any, source: str, inv: str, rows: list[list[str]], *,
               corrupt: bool = False, fmt: str = "CSV", source_name: str | None = None) -> str:
    """Store an inventory of ``rows`` (in two data files) in bucket ``inv``; its URI."""
    files = []
    for n, part in enumerate((rows[:2], rows[2:])):
        data = _gz_csv(part)
        key = f"inv/{source}/data/part-{n}.csv.gz"
        files.append({"key": key, "size": len(data),
                      "MD5checksum": hashlib.md5(data).hexdigest()})
        if corrupt and n == 1:
            data = data[:-1] + bytes([data[-1] ^ 1])
        s3.put_object(Bucket=inv, Key=key, Body=data)
    manifest = {"sourceBucket": source_name or source,
                "destinationBucket": f"arn:aws:s3:::{inv}", "version": "2016-11-30",
                "creationTimestamp": "1700000000000", "fileFormat": fmt,
                "fileSchema": SCHEMA, "files": files}
    s3.put_object(Bucket=inv, Key=f"inv/{source}/manifest.json",
                  Body=json.dumps(manifest).encode())
    return f"s3://{inv}/inv/{source}/manifest.json"


@pytest.fixture
def buckets(s3: Any, bucket: str) -> tuple[str, str]:
    put_many(s3, bucket, OBJECTS)
    inv = bucket + "-inv"
    s3.create_bucket(Bucket=inv)
    return bucket, inv


def test_get_from_an_inventory_lists_nothing(endpoint: str, s3: Any, buckets: tuple[str, str],
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    source, inv = buckets
    uri = _inventory(s3, source, inv, _rows(s3, source, sorted(OBJECTS)))
    dest = tmp_path / "out"
    with AccessProxy(endpoint) as proxy:
        code = main(["get", f"s3://{source}/ds/", str(dest), "--inventory", uri,
                     "--endpoint-url", proxy.url, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert local_tree(dest) == {"a.bin": OBJECTS["ds/a.bin"],
                                "sub/b c+d.txt": OBJECTS["ds/sub/b c+d.txt"],
                                "sub/ä.txt": OBJECTS["ds/sub/ä.txt"]}
    assert summary["listed"] == 3 and summary["transferred"] == 3
    assert not [t for m, t in proxy.methods() if "list-type=2" in t]


def test_an_object_gone_since_the_inventory_is_a_note(
        endpoint: str, s3: Any, buckets: tuple[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    source, inv = buckets
    uri = _inventory(s3, source, inv, _rows(s3, source, sorted(OBJECTS)))
    s3.delete_object(Bucket=source, Key="ds/a.bin")
    dest = tmp_path / "mirror"
    log = tmp_path / "events.jsonl"
    code = main(["sync", f"s3://{source}/ds/", str(dest), "--inventory", uri,
                 "--endpoint-url", endpoint, "--json", "--log-json", str(log)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert summary["transferred"] == 2 and summary["skipped"] == 1 and not summary["failed"]
    assert sorted(local_tree(dest)) == ["sub/b c+d.txt", "sub/ä.txt"]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(e["event"] == "skip" and e["reason"] == "gone since the inventory"
               for e in events)


def test_a_corrupt_inventory_file_stops_the_run(endpoint: str, s3: Any,
                                               buckets: tuple[str, str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source, inv = buckets
    uri = _inventory(s3, source, inv, _rows(s3, source, sorted(OBJECTS)), corrupt=True)
    dest = tmp_path / "mirror"
    dest.mkdir()
    (dest / "kept.txt").write_text("mine")
    code = main(["sync", f"s3://{source}/ds/", str(dest), "--inventory", uri,
                 "--endpoint-url", endpoint, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2
    assert document["ok"] is False and "does not match its manifest" in document["error"]
    assert document["error_type"] == "IntegrityError"
    # The first file was sound: what it listed may be in place; nothing of the second is.
    assert "sub/ä.txt" not in local_tree(dest)
    assert (dest / "kept.txt").read_text() == "mine"


@pytest.mark.parametrize("case, message", [
    ("other-bucket", "lists the bucket"),
    ("orc", "only CSV inventories"),
    ("delete", "--inventory cannot go with --delete"),
    ("files-from", "not with --files-from"),
])
def test_inventories_that_cannot_be_used_are_one_line_errors(
        case: str, message: str, endpoint: str, s3: Any, buckets: tuple[str, str],
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, inv = buckets
    rows = _rows(s3, source, ["ds/a.bin"])
    uri = _inventory(s3, source, inv, rows, fmt="ORC" if case == "orc" else "CSV",
                     source_name="someone-else" if case == "other-bucket" else None)
    extra = {"delete": ["--delete"], "files-from": ["--files-from", "x"]}.get(case, [])
    dest = tmp_path / "mirror"
    code = main(["sync", f"s3://{source}/ds/", str(dest), "--inventory", uri,
                 "--endpoint-url", endpoint, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert local_tree(dest) == {} if dest.exists() else True
