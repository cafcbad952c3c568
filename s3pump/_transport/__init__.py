"""The transport seam (see :mod:`s3pump._transport._base`)."""

from __future__ import annotations

from ._base import Body, ListPage, Transport
from ._reference import ReferenceTransport

__all__ = ["Body", "ListPage", "ReferenceTransport", "Transport"]
