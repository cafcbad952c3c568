"""The S3 Inventory reader's pure parts: the manifest's checks and the rows' decoding."""

from __future__ import annotations

import json

import pytest

from s3pump import S3URI, ConfigError, ListingError
from s3pump._run.inventory import parse_manifest, parse_rows

URI = S3URI("inv-bucket", "inv/manifest.json")
COLUMNS = ("Bucket", "Key", "Size", "ETag", "IsLatest", "IsDeleteMarker")


def _manifest(**fields: object) -> bytes:
    doc: dict[str, object] = {
        "sourceBucket": "src-bucket", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "d/1.csv.gz", "size": 10, "MD5checksum": "AB" * 16}]}
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def test_a_manifest_is_read() -> None:
    m = parse_manifest(_manifest(destinationBucket="arn:aws:s3:::elsewhere",
                                 creationTimestamp="1700000000000"), URI)
    assert (m.source_bucket, m.files_bucket, m.columns) == (
        "src-bucket", "elsewhere", ("Bucket", "Key", "Size"))
    assert m.files[0].md5 == "ab" * 16 and m.created is not None
    assert parse_manifest(_manifest(), URI).files_bucket == "inv-bucket"


@pytest.mark.parametrize("fields, message", [
    ({"fileFormat": "Parquet"}, "only CSV"),
    ({"fileSchema": "Bucket, Key"}, "no Size column"),
    ({"sourceBucket": None}, "no sourceBucket"),
    ({"files": [{"key": "x"}]}, "without key, size and MD5checksum"),
])
def test_a_bad_manifest_is_a_config_error(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_manifest(_manifest(**fields), URI)
    with pytest.raises(ConfigError, match="not JSON"):
        parse_manifest(b"{", URI)


def test_rows_decode_keys_and_leave_out_old_versions_and_markers() -> None:
    rows = [["b", "p/a+b%2Bc.txt", "3", "e1", "true", "false"],
            ["b", "p/old", "3", "e2", "false", "false"],
            ["b", "p/marker", "", "", "true", "true"],
            ["b", "p/%C3%A4", "0", '"e3"', "true", "false"]]
    objects = list(parse_rows(iter(rows), COLUMNS, "b", "f"))
    assert [(o.key, o.size, o.etag) for o in objects] == [("p/a b+c.txt", 3, "e1"),
                                                         ("p/ä", 0, "e3")]


@pytest.mark.parametrize("row, message", [
    (["b", "k", "1", "e", "true"], "5 columns"),
    (["other", "k", "1", "e", "true", "false"], "bucket 'other'"),
    (["b", "k", "many", "e", "true", "false"], "not a number"),
])
def test_rows_that_cannot_be_read_are_listing_errors(row: list[str], message: str) -> None:
    with pytest.raises(ListingError, match=message):
        list(parse_rows(iter([row]), COLUMNS, "b", "f"))
