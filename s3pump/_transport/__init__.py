"""The transport seam (see :mod:`s3pump._transport._base`) and the choice between transports.

Layout: ``_base`` (the seam), ``_auto`` (lean, with the reference behind it), ``_reference``
(aiobotocore) and ``_botocore`` (its errors translated), ``lean/`` (our own signer and
HTTP/1.1 client, split by concern); shared by both transports: ``_resolve`` and
``_awsfiles`` (where requests go, as whom), ``_framing`` (a GET's answer checked against the
request) and ``_stall`` (the minimum body rate).

The reference transport (and with it botocore) is imported only when it is used, and the
others on first use too: the one-object fast path (:mod:`s3pump._quick`) imports ``_resolve``
and ``lean.sigv4`` from this package without paying for anyio and asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .._config import ClientConfig
from .._errors import ConfigError

if TYPE_CHECKING:
    from ._auto import AutoTransport
    from ._base import Body, FileCopier, ListPage, Transport
    from ._reference import ReferenceTransport
    from .lean import LeanTransport, LeanUnsupportedError

__all__ = [
    "AutoTransport",
    "Body",
    "FileCopier",
    "LeanTransport",
    "LeanUnsupportedError",
    "ListPage",
    "ReferenceTransport",
    "Transport",
    "open_transport",
]

TRANSPORTS = ("auto", "lean", "reference")


_LAZY = {"AutoTransport": "._auto", "Body": "._base", "FileCopier": "._base", "ListPage": "._base",
         "Transport": "._base", "ReferenceTransport": "._reference",
         "LeanTransport": ".lean", "LeanUnsupportedError": ".lean"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


async def _open_reference(config: ClientConfig, max_connections: int) -> Transport:
    from ._reference import ReferenceTransport

    return await ReferenceTransport.open(config, max_connections)


async def open_transport(config: ClientConfig, max_connections: int, kind: str = "auto"
                         ) -> Transport:
    """Open the transport ``kind``: ``"reference"`` (aiobotocore), ``"lean"`` (aiohttp and our
    own signer; raises LeanUnsupportedError where it does not apply) or ``"auto"`` (lean,
    falling back to the reference per configuration and per bucket)."""
    if kind not in TRANSPORTS:
        raise ConfigError(f"transport must be one of {', '.join(TRANSPORTS)}, not {kind!r}")
    if kind == "reference":
        return await _open_reference(config, max_connections)
    from ._auto import AutoTransport
    from .lean import LeanTransport, LeanUnsupportedError

    if kind == "lean":
        return await LeanTransport.open(config, max_connections)
    try:
        lean = await LeanTransport.open(config, max_connections)
    except LeanUnsupportedError:
        return await _open_reference(config, max_connections)
    return AutoTransport(lean, config, max_connections)
