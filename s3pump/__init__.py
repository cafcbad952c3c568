"""s3pump: an asyncio-first bulk transfer engine for S3.

``AsyncPump`` is the async API, ``Pump`` its blocking twin, and ``download_prefix`` a one-shot
function. Every error is an :class:`S3PumpError`.
"""

from __future__ import annotations

from ._config import ClientConfig, TransferConfig
from ._engine import AsyncPump
from ._errors import (
    AccessDeniedError,
    BadURIError,
    ConfigError,
    DestinationExistsError,
    IntegrityError,
    LocalIOError,
    NoSuchBucketError,
    NoSuchKeyError,
    NotFoundError,
    ObjectChangedError,
    RequestError,
    S3PumpError,
    ThrottledError,
    TransientError,
    UnsafeKeyError,
)
from ._models import Failure, ObjectInfo, TransferResult
from ._progress import Reporter
from ._sync import Pump, download_prefix
from ._uri import S3URI, parse_uri

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AsyncPump",
    "BadURIError",
    "ClientConfig",
    "ConfigError",
    "DestinationExistsError",
    "Failure",
    "IntegrityError",
    "LocalIOError",
    "NoSuchBucketError",
    "NoSuchKeyError",
    "NotFoundError",
    "ObjectChangedError",
    "ObjectInfo",
    "Pump",
    "Reporter",
    "RequestError",
    "S3PumpError",
    "S3URI",
    "ThrottledError",
    "TransferConfig",
    "TransferResult",
    "TransientError",
    "UnsafeKeyError",
    "__version__",
    "download_prefix",
    "parse_uri",
]
