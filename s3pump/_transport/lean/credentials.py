"""The credentials the lean transport signs with.

Static keys (from the environment or the shared config and credentials files) are found by
:func:`~s3pump._transport._resolve.resolve` without botocore; anything else (SSO,
assume-role, web identity, ``credential_process``, containers, IMDS) comes from botocore's
credential chain, imported only then, and is re-read now and then when it can expire.
"""

from __future__ import annotations

import time
from typing import Any

from .._resolve import Credentials

__all__ = ["CredentialSource", "StaticCredentials", "chain_credentials"]

# Refreshable credentials refresh themselves at least 10 minutes before they expire;
# asking them every 30 s is often enough and keeps their lock off the hot path.
_CHECK_INTERVAL = 30.0


class StaticCredentials:
    """Credentials that do not change (static keys from the environment or the files)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    async def get_frozen_credentials(self) -> Credentials:
        """The keys (as botocore's credentials objects give theirs)."""
        return self._credentials


class CredentialSource:
    """Frozen credentials from ``source`` (:class:`StaticCredentials`, or botocore's
    credentials), re-read now and then if refreshable."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._refreshable = hasattr(source, "refresh_needed")
        self._frozen: Credentials | None = None
        self._next_check = 0.0

    async def get(self) -> Credentials:
        """The credentials to sign the next request with."""
        frozen = self._frozen
        if frozen is None or (self._refreshable and time.monotonic() >= self._next_check):
            raw = await self._source.get_frozen_credentials()
            frozen = Credentials(raw.access_key, raw.secret_key, raw.token or None)
            self._frozen = frozen
            self._next_check = time.monotonic() + _CHECK_INTERVAL
        return frozen

    def expire(self) -> None:
        """Re-read the credentials before the next request (after an expired-token error)."""
        self._next_check = 0.0


async def chain_credentials(profile: str | None) -> Any:
    """botocore's credential chain, for what the environment and files do not decide (None
    when it finds nothing: anonymous). Raises its errors translated."""
    from .._botocore import map_errors  # botocore only when the chain is needed

    with map_errors(None, None):
        from aiobotocore.session import AioSession

        return await AioSession(profile=profile).get_credentials()
