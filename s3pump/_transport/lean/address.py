"""Where a request for a bucket and key goes on one endpoint: the Host header and the
encoded path, path-style or virtual-hosted as botocore would choose. Pure, and free of
asyncio: the one-object fast path (:mod:`s3pump._quick`) addresses its GET with it too."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from ..._errors import ConfigError
from .sigv4 import quote_key

__all__ = ["Endpoint"]

_DNS_LABELS = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]")


def _dns_compatible(bucket: str) -> bool:
    # As botocore's check_dns_name: dotted names break TLS wildcard certificates.
    return (3 <= len(bucket) <= 63 and "." not in bucket
            and _DNS_LABELS.fullmatch(bucket) is not None)


class Endpoint:
    """An endpoint URL with its addressing style. ``aws``: the endpoint is AWS's own (not
    configured), where ``auto`` means virtual-hosted for DNS-compatible bucket names.

    Raises :class:`ConfigError` for a URL that is not ``http(s)://host``.
    """

    __slots__ = ("_auto", "_virtual", "base_path", "host", "https", "scheme")

    def __init__(self, url: str, *, aws: bool = False, addressing_style: str = "auto") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"unsupported endpoint URL: {url!r}")
        self.scheme = parts.scheme
        self.https = parts.scheme == "https"
        hostname = parts.hostname
        if ":" in hostname:
            hostname = f"[{hostname}]"
        default_port = 443 if self.https else 80
        port = parts.port
        self.host = hostname if port in (None, default_port) else f"{hostname}:{port}"
        self.base_path = parts.path.rstrip("/")
        if addressing_style == "virtual":
            self._virtual = True
        elif addressing_style == "path" or not aws:
            self._virtual = False
        else:
            self._virtual = True  # auto on AWS's own endpoint: virtual for DNS-compatible names
        self._auto = addressing_style == "auto"

    def locate(self, bucket: str, key: str | None) -> tuple[str, str]:
        """Host header and encoded path for ``bucket``/``key`` (``key`` None: the bucket)."""
        tail = "" if key is None else "/" + quote_key(key)
        if self._virtual and (not self._auto or _dns_compatible(bucket)):
            return f"{bucket}.{self.host}", (self.base_path + tail) or "/"
        return self.host, f"{self.base_path}/{quote(bucket, safe='')}{tail}"
