"""s3pump: an asyncio-first bulk transfer engine for S3.

``AsyncPump`` is the async API, ``Pump`` its blocking twin, and ``download_prefix`` a one-shot
function. Every error is an :class:`S3PumpError`. Names are imported on first use, so that
``s3pump --help`` does not pay for aiobotocore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import AsyncPump
    from ._blocking import Pump, download_prefix, sync, upload_dir
    from ._config import ClientConfig, TransferConfig
    from ._errors import (
        AccessDeniedError,
        BadURIError,
        ConfigError,
        DestinationExistsError,
        IntegrityError,
        InvalidContentError,
        ListingError,
        LocalIOError,
        MirrorBusyError,
        MissingDependencyError,
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
    from ._run.events import JsonLinesLog, SyncEvent
    from ._run.progress import Reporter
    from ._uri import S3URI, parse_uri

__version__ = "0.1.0"

_ORIGIN = {
    "ClientConfig": "_config",
    "TransferConfig": "_config",
    "AsyncPump": "_api",
    "AccessDeniedError": "_errors",
    "BadURIError": "_errors",
    "ConfigError": "_errors",
    "DestinationExistsError": "_errors",
    "IntegrityError": "_errors",
    "InvalidContentError": "_errors",
    "ListingError": "_errors",
    "MirrorBusyError": "_errors",
    "MissingDependencyError": "_errors",
    "LocalIOError": "_errors",
    "NoSuchBucketError": "_errors",
    "NoSuchKeyError": "_errors",
    "NotFoundError": "_errors",
    "ObjectChangedError": "_errors",
    "RequestError": "_errors",
    "S3PumpError": "_errors",
    "ThrottledError": "_errors",
    "TransientError": "_errors",
    "UnsafeKeyError": "_errors",
    "Failure": "_models",
    "ObjectInfo": "_models",
    "TransferResult": "_models",
    "Reporter": "_run.progress",
    "Pump": "_blocking",
    "download_prefix": "_blocking",
    "upload_dir": "_blocking",
    "sync": "_blocking",
    "JsonLinesLog": "_run.events",
    "SyncEvent": "_run.events",
    "S3URI": "_uri",
    "parse_uri": "_uri",
}

__all__ = [
    "AccessDeniedError",
    "AsyncPump",
    "BadURIError",
    "ClientConfig",
    "ConfigError",
    "DestinationExistsError",
    "Failure",
    "IntegrityError",
    "InvalidContentError",
    "ListingError",
    "JsonLinesLog",
    "LocalIOError",
    "MirrorBusyError",
    "MissingDependencyError",
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
    "SyncEvent",
    "ThrottledError",
    "TransferConfig",
    "TransferResult",
    "TransientError",
    "UnsafeKeyError",
    "__version__",
    "download_prefix",
    "parse_uri",
    "sync",
    "upload_dir",
]


def __getattr__(name: str) -> Any:
    module = _ORIGIN.get(name)
    if module is None:
        raise AttributeError(f"module 's3pump' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
