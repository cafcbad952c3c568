"""The MemoryTransport's DeleteObjects: quiet batch deletes with per-key faults and
answers, and the keys XML 1.0 cannot carry deleted one by one, as the real transports send
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .._errors import RequestError, TransientError
from ._base import delete_batch
from .memory_faults import Fault, Faults
from .memory_store import Bucket

__all__ = ["delete_keys"]


class Store(Protocol):
    """What a delete uses of the MemoryTransport (named here, not imported: it imports
    this module)."""

    faults: Faults

    def _bucket(self, name: str) -> Bucket: ...

    def _now(self) -> datetime: ...

    async def _request(self, op: str, bucket: str, key: str | None = None, *,
                       match: str | None = None, head: bool = False,
                       keyed: bool | None = None) -> Fault | None: ...


async def delete_keys(t: Store, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
    """DeleteObjects (quiet) of ``keys``: the keys not deleted, with ``"Code: Message"``."""
    in_xml, one_by_one = delete_batch(keys)
    failed: list[tuple[str, str]] = []
    if in_xml:
        await t._request("delete", bucket, keyed=False)  # per-key faults: below
        b = t._bucket(bucket)
        for key in in_xml:
            fault = t.faults.take("delete", bucket, key, keyed=True)
            if fault is not None and fault.answer is not None:
                _, code, message = fault.answer
                failed.append((key, f"{code}: {message}"))
                continue
            if fault is not None and fault.call is not None:
                fault.call()
            elif fault is not None:
                raise fault.error(bucket, None)
            b.remove(key, t._now())
    for key in one_by_one:
        try:
            await t._request("delete", bucket, key)
        except RequestError as error:
            if isinstance(error, TransientError) or error.code == "NoSuchBucket":
                raise
            failed.append((key, f"{error.code or error.status}: {error}"))
            continue
        t._bucket(bucket).remove(key, t._now())
    return failed
