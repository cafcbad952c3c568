"""s3pump: an asyncio-first bulk transfer engine for S3.

``AsyncPump`` is the async API, ``Pump`` its blocking twin with the same methods, and
``copy``, ``move``, ``download_prefix``, ``upload_dir`` and ``sync`` one-shot functions.
Every error is an :class:`S3PumpError`.

The public names are the ones in ``_PUBLIC`` below, and only those: it drives ``__all__``,
``dir(s3pump)`` and the lazy imports (a name's module is imported on first use, so that
``import s3pump`` and ``s3pump --help`` do not pay for aiobotocore or aiohttp). The
``TYPE_CHECKING`` imports repeat it for type checkers; a test keeps the two equal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names as _PUBLIC, module by module ("X as X": re-exported)
    from ._api import AsyncPump as AsyncPump
    from ._attributes import ObjectAttributes as ObjectAttributes
    from ._attributes import SSECustomerKey as SSECustomerKey
    from ._blocking import Pump as Pump
    from ._config import ClientConfig as ClientConfig
    from ._config import TransferConfig as TransferConfig
    from ._errors import AccessDeniedError as AccessDeniedError
    from ._errors import ArchivedObjectError as ArchivedObjectError
    from ._errors import BadURIError as BadURIError
    from ._errors import ConfigError as ConfigError
    from ._errors import DestinationExistsError as DestinationExistsError
    from ._errors import IntegrityError as IntegrityError
    from ._errors import InvalidContentError as InvalidContentError
    from ._errors import ListingError as ListingError
    from ._errors import LocalIOError as LocalIOError
    from ._errors import MirrorBusyError as MirrorBusyError
    from ._errors import MissingDependencyError as MissingDependencyError
    from ._errors import NoSuchBucketError as NoSuchBucketError
    from ._errors import NoSuchKeyError as NoSuchKeyError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import ObjectChangedError as ObjectChangedError
    from ._errors import RequestError as RequestError
    from ._errors import S3PumpError as S3PumpError
    from ._errors import ThrottledError as ThrottledError
    from ._errors import TransientError as TransientError
    from ._errors import UnsafeKeyError as UnsafeKeyError
    from ._models import Failure as Failure
    from ._models import ObjectInfo as ObjectInfo
    from ._models import TransferResult as TransferResult
    from ._oneshot import copy as copy
    from ._oneshot import download_prefix as download_prefix
    from ._oneshot import move as move
    from ._oneshot import remove as remove
    from ._oneshot import sync as sync
    from ._oneshot import upload_dir as upload_dir
    from ._reads.usage import Usage as Usage
    from ._run.events import JsonLinesLog as JsonLinesLog
    from ._run.events import SyncEvent as SyncEvent
    from ._run.progress import Reporter as Reporter
    from ._run.progress import RichReporter as RichReporter
    from ._scale.link import TaskError as TaskError
    from ._scale.link import WorkerLostError as WorkerLostError
    from ._transport.memory import MemoryTransport as MemoryTransport
    from ._transport.versions import ObjectVersion as ObjectVersion
    from ._uri import S3URI as S3URI
    from ._uri import KeyPattern as KeyPattern
    from ._uri import parse_uri as parse_uri

__version__ = "0.1.0"

# The one list of public names, by the module that defines each.
_PUBLIC: dict[str, tuple[str, ...]] = {
    "_api": ("AsyncPump",),
    "_blocking": ("Pump",),
    "_oneshot": ("copy", "download_prefix", "move", "remove", "sync", "upload_dir"),
    "_attributes": ("ObjectAttributes", "SSECustomerKey"),
    "_config": ("ClientConfig", "TransferConfig"),
    "_errors": (
        "AccessDeniedError", "ArchivedObjectError", "BadURIError", "ConfigError",
        "DestinationExistsError", "IntegrityError", "InvalidContentError", "ListingError",
        "LocalIOError",
        "MirrorBusyError", "MissingDependencyError", "NoSuchBucketError", "NoSuchKeyError",
        "NotFoundError", "ObjectChangedError", "RequestError", "S3PumpError",
        "ThrottledError", "TransientError", "UnsafeKeyError",
    ),
    "_models": ("Failure", "ObjectInfo", "TransferResult"),
    "_reads.usage": ("Usage",),
    "_scale.link": ("TaskError", "WorkerLostError"),
    "_run.events": ("JsonLinesLog", "SyncEvent"),
    "_run.progress": ("Reporter", "RichReporter"),
    "_transport.memory": ("MemoryTransport",),
    "_transport.versions": ("ObjectVersion",),
    "_uri": ("KeyPattern", "S3URI", "parse_uri"),
}

_ORIGIN = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = ["__version__", *(name for names in _PUBLIC.values() for name in names)]


def __getattr__(name: str) -> Any:
    module = _ORIGIN.get(name)
    if module is None:
        raise AttributeError(f"module 's3pump' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
