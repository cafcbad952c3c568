"""Presigned URLs for the reference transport: botocore's client knows the credentials (its
chain, refreshed as it refreshes them), the endpoint, the region and the addressing style;
the URL itself is made by our signer (:func:`~.lean.presign.presign_url`), as on the lean
path, so both transports give the same URL for the same inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._errors import ConfigError
from ._resolve import Credentials
from .lean.address import Endpoint
from .lean.presign import presign_url

__all__ = ["botocore_presign"]


async def botocore_presign(client: Any, method: str, bucket: str, key: str, expires_in: int,
                           params: Mapping[str, str] | None) -> str:
    """The presigned URL with ``client``'s (an aiobotocore S3 client's) credentials.

    Raises:
        ConfigError: the client sends unsigned requests (no credentials), or a bad
            ``expires_in``.
    """
    source = client._request_signer._credentials  # botocore's chain, as its requests use
    if source is None:
        raise ConfigError("cannot presign with unsigned requests (--no-sign-request, "
                          "sign_requests=False): a presigned URL is signed with credentials")
    frozen = await source.get_frozen_credentials()
    credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)
    meta = client.meta
    url = meta.endpoint_url
    style = (meta.config.s3 or {}).get("addressing_style", "auto")
    host = urlsplit(url).hostname or ""
    endpoint = Endpoint(url, aws=host.endswith(".amazonaws.com"), addressing_style=style)
    return presign_url(endpoint, meta.region_name, credentials, method, bucket, key,
                       expires_in, params=params)
