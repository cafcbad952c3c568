"""ListParts on every transport against moto: all pages, sizes, ETags (each part's MD5)
and checksums; an upload that is gone raises NotFoundError (NoSuchUpload)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from s3pump import NotFoundError
from s3pump._checksum import compute_for
from s3pump._config import ClientConfig
from s3pump._transport import open_transport

MiB = 1024 * 1024


@pytest.mark.parametrize("kind", ["lean", "reference", "auto"])
async def test_list_parts_on_each_transport(endpoint: str, s3: Any, bucket: str,
                                            kind: str) -> None:
    transport = await open_transport(ClientConfig(endpoint_url=endpoint), 8, kind)
    try:
        upload_id = await transport.create_multipart_upload(
            bucket, "mp/key", checksum_algorithm="CRC32", checksum_type="FULL_OBJECT")
        bodies = {1: os.urandom(5 * MiB), 3: os.urandom(5 * MiB), 4: b"tail"}
        crc = compute_for("CRC32")
        for number, body in bodies.items():
            await transport.upload_part(bucket, "mp/key", upload_id, number, body,
                                        checksum=crc(body))
        parts = await transport.list_parts(bucket, "mp/key", upload_id)
        assert [(p.number, p.size, p.etag) for p in parts] == [
            (n, len(b), hashlib.md5(b).hexdigest()) for n, b in sorted(bodies.items())]
        for part in parts:
            if part.checksums:  # moto keeps the parts' CRC32s
                assert part.checksums == {"crc32": crc(bodies[part.number]).value}
        await transport.abort_multipart_upload(bucket, "mp/key", upload_id)
        with pytest.raises(NotFoundError):
            await transport.list_parts(bucket, "mp/key", upload_id)
    finally:
        await transport.aclose()
