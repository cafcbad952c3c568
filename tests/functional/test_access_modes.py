"""Access modes (issue 12), through the library on both transports: unsigned requests to a
public bucket (an unauthenticated rclone), and requester-pays buckets (moto behind a proxy
that answers 403 without ``x-amz-request-payer``, as S3 does).

Every request passes :class:`tests._access_proxy.AccessProxy`, which records its headers;
the AWS environment is the ``trap``'s (nothing configured, HTTPS and HTTP proxies a
catch-all), with instance metadata turned back on: a credential lookup would probe
169.254.169.254 through the catch-all, and be caught.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._errors import AccessDeniedError
from tests._access_proxy import AccessProxy
from tests._endpoints import CatchAll
from tests._verify import AnonRclone

SMALL_PARTS = TransferConfig(multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024,
                             max_attempts=1)


def _no_escape(trap: CatchAll, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Every request not to ``url`` goes to the trap, IMDS probes included."""
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{url.rsplit(':', 1)[1]}")


async def test_unsigned_requests_read_a_public_bucket_and_look_up_no_credentials(
    kind: str, public: AnonRclone, trap: CatchAll, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """No credentials anywhere: sign_requests=False lists, heads and gets (whole and
    ranged) with no Authorization header, and nothing goes anywhere else (no IMDS)."""
    with AccessProxy(public.url, refuse_signed=True) as proxy:
        _no_escape(trap, monkeypatch, proxy.url)
        async with AsyncPump(endpoint_url=proxy.url, region="us-east-1", transport=kind,
                             sign_requests=False, config=TransferConfig(max_attempts=1)
                             ) as pump:
            keys = [o.key async for o in pump.list_objects("s3://pub/data/")]
            assert await pump.exists("s3://pub/data/a.txt")
            assert await pump.read_bytes("s3://pub/data/a.txt") == b"alpha"
            result = await pump.download_prefix("s3://pub/data/", tmp_path / "out")
        assert not result.failed and result.transferred == 2
    assert keys == ["data/a.txt", "data/b.txt"]
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"bravo" * 1000
    assert proxy.seen and proxy.refused == 0
    assert all("authorization" not in s.headers and "x-amz-security-token" not in s.headers
               for s in proxy.seen)
    assert trap.targets() == []


async def test_unsigned_pump_opens_with_half_set_keys_and_never_reads_them(
    kind: str, public: AnonRclone, trap: CatchAll, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials in the environment are not used (nor refused when only half set)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDHALF")
    with AccessProxy(public.url, refuse_signed=True) as proxy:
        _no_escape(trap, monkeypatch, proxy.url)
        async with AsyncPump(endpoint_url=proxy.url, region="us-east-1", transport=kind,
                             sign_requests=False) as pump:
            assert await pump.read_bytes("s3://pub/data/a.txt") == b"alpha"
    assert all("authorization" not in s.headers for s in proxy.seen)
    assert trap.targets() == []


def test_bad_access_options_are_config_errors() -> None:
    from s3pump import ConfigError

    with pytest.raises(ConfigError, match="request_payer"):
        AsyncPump(request_payer="owner")
    with pytest.raises(ConfigError, match="sign_requests"):
        AsyncPump(sign_requests="no")  # type: ignore[arg-type]


# -- requester pays ---------------------------------------------------------------------------


async def test_requester_pays_sends_the_header_on_every_request(
    kind: str, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
) -> None:
    """A bucket that answers 403 without x-amz-request-payer: listing, HEAD, GET (whole and
    ranged), PUT, a multipart upload and a delete (sync --delete) all carry it."""
    s3.put_object(Bucket=bucket, Key="src/old.txt", Body=b"old")
    s3.put_object(Bucket=bucket, Key="src/gone.txt", Body=b"gone")
    local = tmp_path / "up"
    local.mkdir()
    (local / "small.txt").write_bytes(b"small")
    (local / "big.bin").write_bytes(os.urandom(11 * 1024 * 1024))
    with AccessProxy(endpoint, require_payer=True) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind, config=SMALL_PARTS,
                             request_payer="requester") as pump:
            assert await pump.read_bytes(f"s3://{bucket}/src/old.txt") == b"old"
            assert await pump.exists(f"s3://{bucket}/src/old.txt")
            down = await pump.download_prefix(f"s3://{bucket}/src/", tmp_path / "down")
            up = await pump.sync(local, f"s3://{bucket}/src/", delete=True)
        assert not down.failed and not up.failed, (down, up)
    assert proxy.refused == 0
    seen = proxy.methods()
    assert {"GET", "HEAD", "PUT", "POST"} <= {m for m, _ in seen}
    assert any("uploads" in t for _, t in seen)  # the multipart upload
    assert any(m == "POST" and "delete" in t for m, t in seen)  # sync --delete
    assert all(s.headers.get("x-amz-request-payer") == "requester" for s in proxy.seen)
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="src/")["Contents"]}
    assert listed == {"src/small.txt", "src/big.bin"}


async def test_requester_pays_bucket_refuses_a_pump_without_the_option(
    kind: str, endpoint: str, bucket: str, s3: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"x")
    with AccessProxy(endpoint, require_payer=True) as proxy:
        async with AsyncPump(endpoint_url=proxy.url, transport=kind,
                             config=TransferConfig(max_attempts=1)) as pump:
            with pytest.raises(AccessDeniedError):
                await pump.read_bytes(f"s3://{bucket}/k.txt")
    assert proxy.refused >= 1


async def test_unsigned_uploads_single_and_multipart(
    kind: str, public: AnonRclone, trap: CatchAll, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A public-write store: PUT and a multipart upload (create, parts, complete) go
    unsigned too."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "s.txt").write_bytes(b"s")
    big = os.urandom(11 * 1024 * 1024)
    (src / "big.bin").write_bytes(big)
    with AccessProxy(public.url, refuse_signed=True) as proxy:
        _no_escape(trap, monkeypatch, proxy.url)
        async with AsyncPump(endpoint_url=proxy.url, region="us-east-1", transport=kind,
                             sign_requests=False, config=SMALL_PARTS) as pump:
            result = await pump.upload_dir(src, f"s3://pub/up-{kind}/")
            back = await pump.read_bytes(f"s3://pub/up-{kind}/big.bin")
    assert not result.failed and result.transferred == 2, result
    assert back == big
    assert any("uploads" in s.target for s in proxy.seen)
    assert proxy.refused == 0 and all("authorization" not in s.headers for s in proxy.seen)
    assert trap.targets() == []
