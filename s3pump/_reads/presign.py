"""``presign``: a URL that grants one request on one object until it expires
(:meth:`AsyncPump.presign`). Signed locally with the pump's credentials; nothing is sent."""

from __future__ import annotations

from .._errors import BadURIError, ConfigError
from .._session import Session
from .._transport.lean.presign import check_expires
from .._uri import S3URI, parse_uri

__all__ = ["presign"]

_METHODS = ("GET", "PUT", "HEAD", "DELETE")


async def presign(session: Session, uri: str | S3URI, expires_in: int = 3600, *,
                  method: str = "GET", version_id: str | None = None) -> str:
    """A presigned URL for ``method`` on the object ``uri``, valid ``expires_in`` seconds
    (1 to 604800, 7 days: SigV4's limit).

    The URL is query-string SigV4 (``X-Amz-Algorithm``, ``X-Amz-Credential``,
    ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders=host``, and
    ``X-Amz-Security-Token`` with temporary credentials; the payload unsigned), signed by
    s3pump's own signer with the credentials, endpoint, region and addressing style every
    request of this pump uses. ``version_id`` pins one version (``versionId``, signed).
    No request is sent: whether the object exists is not checked. Anyone holding the URL
    can use it until it expires; logs never show its signature.

    Raises:
        BadURIError: ``uri`` is not an ``s3://`` URI naming a key.
        ConfigError: ``expires_in`` out of range, an unknown ``method``, an empty
            ``version_id``, or a pump that sends unsigned requests (``sign_requests=False``).
        RequestError: the transport has no URL to give (``MemoryTransport``).
    """
    parsed = parse_uri(uri)
    if not parsed.key:
        raise BadURIError(f"presign needs an object's key, not the bucket {parsed}")
    if method not in _METHODS:
        raise ConfigError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    check_expires(expires_in)
    if version_id is not None and not version_id:
        raise ConfigError("version_id must not be empty")
    params = {"versionId": version_id} if version_id else None
    return await session.transport.presign(method, parsed.bucket, parsed.key, expires_in,
                                           params=params)
