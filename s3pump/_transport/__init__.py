"""The transport seam (see :mod:`s3pump._transport._base`) and the choice between transports."""

from __future__ import annotations

from .._config import ClientConfig
from .._errors import ConfigError
from ._base import Body, ListPage, Transport
from ._reference import ReferenceTransport

__all__ = ["Body", "ListPage", "ReferenceTransport", "Transport", "open_transport"]

TRANSPORTS = ("auto", "lean", "reference")


async def open_transport(config: ClientConfig, max_connections: int, kind: str = "auto"
                         ) -> Transport:
    """Open the transport ``kind``: ``"reference"`` (aiobotocore), ``"lean"`` (aiohttp and our
    own signer) or ``"auto"`` (lean where it supports the configuration, else reference)."""
    if kind not in TRANSPORTS:
        raise ConfigError(f"transport must be one of {', '.join(TRANSPORTS)}, not {kind!r}")
    return await ReferenceTransport.open(config, max_connections)
