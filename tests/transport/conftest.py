"""Fixtures of the transport tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from s3pump._transport.lean.http11 import H1Pool


@pytest.fixture
async def pool() -> AsyncIterator[H1Pool]:
    """Our HTTP/1.1 connection pool, plain HTTP, four connections, short timeouts."""
    p = H1Pool(https=False, ssl_context=True, limit=4, connect_timeout=2, read_timeout=5,
               user_agent="test")
    yield p
    await p.aclose()
