"""The benchmark's checksum datasets, seeded on a real SeaweedFS by benchmarks/seed_remote.py.

What the harness promises of the sw-* datasets: the -crc objects come back with a CRC64NVME
(the evidence s3pump then verifies, before the MD5 ETag), the others with an MD5 ETag only;
a check finds a missing or wrong dataset; and the data verifies end to end (s3pump get, then
the harness's own sha256 verification).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from benchmarks import datasets
from benchmarks.datasets import DatasetSpec
from s3pump._cli import main
from s3pump._integrity import expect

SEED = Path(datasets.__file__).with_name("seed_remote.py")
_names = itertools.count()


def _seed(server: Any, spec: DatasetSpec, bucket: str, root: Path, *extra: str) -> int:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key,
               AWS_SECRET_ACCESS_KEY=server.secret_key)
    argv = [sys.executable, str(SEED), "--endpoint-url", server.url, "--bucket", bucket,
            "--prefix", spec.prefix, "--manifest", str(datasets.manifest_path(root, spec)),
            *(["--crc64nvme"] if spec.checksum else []), *extra]
    return subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False).returncode


def _headers(server: Any, bucket: str, key: str) -> dict[str, str]:
    client = boto3.client(
        "s3", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))
    got = client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    got["Body"].read()
    return dict(got["ResponseMetadata"]["HTTPHeaders"])


def test_checksum_datasets_carry_what_they_say_and_verify(seaweed: Any, tmp_path: Path) -> None:
    bucket = f"bench-seed-{next(_names)}"
    root = tmp_path / "seed"
    for spec, algorithm in (
        (DatasetSpec("t", 3, 300_000, server="seaweed"), "MD5"),
        (DatasetSpec("t-crc", 3, 300_000, server="seaweed", checksum="CRC64NVME"), "CRC64NVME"),
    ):
        manifest = datasets.ensure(spec, root)
        source = root / datasets.BUCKET / spec.prefix
        assert _seed(seaweed, spec, bucket, root) == 3  # not there yet: the harness seeds it
        assert _seed(seaweed, spec, bucket, root, "--source", str(source)) == 0
        assert _seed(seaweed, spec, bucket, root) == 0  # found intact by the next run
        assert datasets.stored(spec, root) == manifest
        for rel, _size, _sha in manifest.objects:
            evidence = expect(_headers(seaweed, bucket, spec.prefix + rel))
            assert evidence.algorithm == algorithm, evidence
        dest = tmp_path / f"dl-{spec.name}"
        code = main(["get", f"s3://{bucket}/{spec.prefix}", str(dest), "--endpoint-url",
                     seaweed.url, "-q", "--no-progress", "--require-checksum"])
        assert code == 0
        assert datasets.verify(manifest, dest) is None


def test_a_plain_copy_does_not_pass_for_a_checksum_dataset(seaweed: Any, tmp_path: Path) -> None:
    bucket = f"bench-seed-{next(_names)}"
    root = tmp_path / "seed"
    plain = DatasetSpec("u", 1, 1000, server="seaweed")
    crc = DatasetSpec("u", 1, 1000, server="seaweed", checksum="CRC64NVME")  # same prefix
    datasets.ensure(plain, root)
    assert _seed(seaweed, plain, bucket, root, "--source", str(root / "bench" / plain.prefix)) == 0
    assert _seed(seaweed, crc, bucket, root) == 3
