"""The lean data-plane transport, by concern: :mod:`.transport` (the S3 operations),
:mod:`.client` (where requests go, signing, the two HTTP stacks), :mod:`.http11` (our own
HTTP/1.1 client), :mod:`.sigv4` (the signer), :mod:`.credentials`, :mod:`.body` (GET
bodies), :mod:`.wire` (S3's XML, dates), :mod:`.errors` (translation at one boundary) and
:mod:`.paced` (request bodies sent under watch, imported with aiohttp).

Shared with the reference transport, and so one level up: the seam (``_base``), the
resolution of the configuration (``_resolve``, ``_awsfiles``), the checks of a GET's
framing (``_framing``) and the minimum body rate (``_stall``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import LeanUnsupportedError
    from .transport import LeanTransport

_LAZY = {"LeanTransport": ".transport", "LeanUnsupportedError": ".errors"}


def __getattr__(name: str) -> object:
    # Lazy, so that importing .sigv4 alone (the one-object fast path) imports no asyncio.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value

__all__ = ["LeanTransport", "LeanUnsupportedError"]
