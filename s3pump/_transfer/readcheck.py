"""Verifying reads (``read_bytes`` and friends, ``iter_bytes``) against what S3 offers.

Reads land in memory, so a body is checked before it is returned or cached: a whole GET
against its checksum header (checksum mode) or the MD5 ETag of a single-part object; ranged
parts against the combined CRCs, or, for an MD5 or SHA, the buffer hashed in order as the
parts land (:mod:`s3pump._transfer.inorder`). A mismatch raises :class:`CorruptedBodyError`, a
:class:`TransientError`, so the read is retried like a broken body; when the tries run out
it becomes :class:`IntegrityError`. A stream (:class:`StreamCheck`) can only give its verdict
after the last byte: the consumer has seen the bytes by then.

MD5 and SHA of bodies of 256 KiB or more are hashed in a worker thread (``hashlib``
releases the GIL): ~1.6 ms of CPU per MiB that the event loop does not pay.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio

from .._errors import IntegrityError, TransientError
from .._integrity import Verdict, Verifier, expect

__all__ = ["THREAD_HASH", "CorruptedBodyError", "StreamCheck", "judge", "verify_bytes"]

THREAD_HASH = 256 << 10  # from this size on, non-CRC hashes run in a worker thread


class CorruptedBodyError(TransientError):
    """A body that does not hash to what S3 says: read again like a broken body."""

    def __init__(self, where: str, verdict: Verdict, bucket: str | None = None,
                 key: str | None = None) -> None:
        super().__init__(f"{where}: {verdict}", bucket=bucket, key=key)
        self.verdict = verdict


def judge(verdict: Verdict, where: str, require_checksum: bool, bucket: str | None = None,
          key: str | None = None) -> None:
    """Raise unless bytes with this ``verdict`` may be returned (or cached).

    Raises:
        CorruptedBodyError: a mismatch (to be retried).
        IntegrityError: nothing could be checked and a checksum is required.
    """
    if verdict.status == "mismatch":
        raise CorruptedBodyError(where, verdict, bucket, key)
    if verdict.status == "unverifiable" and require_checksum:
        raise IntegrityError(f"{where}: {verdict} (a checksum is required)")


async def verify_bytes(
    data: bytes, evidence: Mapping[str, str], etag: str, where: str,
    require_checksum: bool = False,
) -> Verdict:
    """Check a whole body in memory against its GET's ``evidence`` and ``etag``.

    Raises:
        CorruptedBodyError, IntegrityError: as :func:`judge`.
    """
    verifier = Verifier(expect(evidence, etag), len(data))
    if verifier.expectation.algorithm is None:
        verdict = verifier.verdict()
    elif len(data) >= THREAD_HASH and not verifier.expectation.combinable:
        verdict = await anyio.to_thread.run_sync(_hash_all, verifier, data)
    else:
        verdict = _hash_all(verifier, data)
    judge(verdict, where, require_checksum)
    return verdict


def _hash_all(verifier: Verifier, data: bytes) -> Verdict:
    verifier.feed(data)
    return verifier.verdict()


class StreamCheck:
    """Verifies a stream of pieces (in order, from the first byte) at its end.

    :meth:`first` with every response (only the first, whole-object one counts),
    :meth:`feed` every piece, :meth:`finish` after the last one.
    """

    def __init__(self, where: str) -> None:
        self._where = where
        self._verifier: Verifier | None = None
        self._threaded = False

    def first(self, evidence: Mapping[str, str], etag: str) -> None:
        """Take the expectation from the stream's first response (later calls: no-op;
        the ranged answers that resume a stream carry no evidence of the whole)."""
        if self._verifier is not None:
            return
        self._verifier = Verifier(expect(evidence, etag), -1)  # size: see finish
        exp = self._verifier.expectation
        self._threaded = exp.algorithm is not None and not exp.combinable

    async def feed(self, piece: bytes) -> None:
        """Hash the next piece (in a worker thread when it is large and not a CRC)."""
        assert self._verifier is not None
        if self._threaded and len(piece) >= THREAD_HASH:
            await anyio.to_thread.run_sync(self._verifier.feed, piece)
        else:
            self._verifier.feed(piece)

    def finish(self, size: int, require_checksum: bool = False) -> Verdict:
        """The verdict on everything fed, for an object of ``size`` bytes.

        Raises:
            IntegrityError: the bytes do not match (the stream cannot be read again: the
                consumer already has them), or nothing could be checked and a checksum is
                required.
        """
        assert self._verifier is not None
        self._verifier.size = size
        verdict = self._verifier.verdict()
        try:
            judge(verdict, self._where, require_checksum)
        except CorruptedBodyError as exc:
            raise IntegrityError(str(exc)) from None
        return verdict
