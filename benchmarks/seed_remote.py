"""Put a dataset on a live S3 server, or check that it is there (run by the project's venv).

    python seed_remote.py --endpoint-url URL --bucket B --prefix P --manifest M [--source DIR]
        [--crc64nvme]

The manifest (datasets.py) names every key and size. Without `--source`, only checks: exit 0 if
every key is listed with its size (and, with `--crc64nvme`, a HEAD of the first key returns its
CRC64NVME), else exit 3. With `--source`, uploads every object from DIR (one PUT each, so the
checksum is full-object and the ETag an MD5), with `x-amz-checksum-crc64nvme` computed here
(awscrt) when `--crc64nvme` is given, then checks. Credentials come from ~/.aws as for the tools.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config

CHUNK = 8 * 1024 * 1024


def _client(url: str) -> Any:
    config = Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 5},
    )
    return botocore.session.get_session().create_client("s3", endpoint_url=url, config=config)


def _crc64nvme(path: Path) -> str:
    from awscrt.checksums import crc64nvme

    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            crc = crc64nvme(chunk, crc)
    return base64.b64encode(crc.to_bytes(8, "big")).decode()


def _listed(client: Any, bucket: str, prefix: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"][len(prefix):]] = int(obj["Size"])
    return found


def check(client: Any, bucket: str, prefix: str, objects: list[Any], crc: bool) -> str | None:
    """None if the server holds the dataset as it should, else what is wrong."""
    try:
        found = _listed(client, bucket, prefix)
    except client.exceptions.NoSuchBucket:
        return "no bucket"
    want = {rel: int(size) for rel, size, _ in objects}
    if found != want:
        return f"{len(found)} keys listed, {len(want)} expected (or sizes differ)"
    head = client.head_object(Bucket=bucket, Key=prefix + objects[0][0], ChecksumMode="ENABLED")
    has_crc = bool(head.get("ChecksumCRC64NVME"))
    if has_crc != crc:
        return f"first object {'lacks' if crc else 'has'} a CRC64NVME checksum"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--source", type=Path)
    parser.add_argument("--crc64nvme", action="store_true")
    args = parser.parse_args()
    objects = json.loads(args.manifest.read_text())["objects"]
    client = _client(args.endpoint_url)
    if args.source is None:
        problem = check(client, args.bucket, args.prefix, objects, args.crc64nvme)
        if problem:
            print(problem, file=sys.stderr)
            return 3
        return 0
    exists = (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists)
    with contextlib.suppress(*exists):
        client.create_bucket(Bucket=args.bucket)
    for rel, _size, _sha in objects:
        path = args.source / rel
        extra = {"ChecksumCRC64NVME": _crc64nvme(path)} if args.crc64nvme else {}
        with open(path, "rb") as body:
            client.put_object(Bucket=args.bucket, Key=args.prefix + rel, Body=body, **extra)
    problem = check(client, args.bucket, args.prefix, objects, args.crc64nvme)
    if problem:
        print(f"after upload: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
