"""Faults a :class:`~s3pump._transport.memory.MemoryTransport` injects at the seam,
deterministically: which operation, which key, what goes wrong, how many times.

::

    transport.faults.add("get", "a/b", kind="corrupt")            # once: a flipped byte
    transport.faults.add("get", "a/b", kind="corrupt", times=None)  # every time
    transport.faults.add("put", kind="throttle", times=2)          # any key, twice
    transport.faults.add("list", kind="error500", after=2)          # the third listing call
    transport.faults.add("get", "k", kind="call", call=lambda: transport.put(...))

Kinds:

- ``error500``, ``error503``, ``throttle``, ``denied``: S3 answers 500 InternalError,
  503 ServiceUnavailable, 503 SlowDown, 403 AccessDenied; ``error``: any ``status`` and
  ``code``. Raised as the real transports raise them. On ``delete`` with a ``key``, the key
  is reported as not deleted in the quiet answer (a per-key error); without one, the whole
  request fails.
- ``reset``: the connection drops (after ``at`` bytes of a GET's body, half by default).
- ``stall``: the server goes quiet for ``delay`` seconds, then the read times out (after
  ``at`` bytes of a GET's body, none by default).
- ``truncate``: a GET's body ends after ``at`` bytes (half by default), short of its length;
  ``unframed``: the same without a Content-Length (only the caller's size can tell).
- ``misrange``: a ranged GET is answered for the range one byte earlier (one byte later,
  for a range from byte 0), with that range's true Content-Range: a shifted part.
- ``corrupt``: one byte flipped, the length unchanged (at offset ``at``, the middle by
  default): in a GET's body; in a PUT's or UploadPart's body on the way to S3 (S3 refuses
  it with BadDigest when a checksum came along, and stores it otherwise); in the bytes a
  CopyObject or UploadPartCopy stores (``copy``, ``copy_part``: the server spoilt them).
- ``call``: nothing goes wrong; ``call()`` runs before the request is answered (to change
  the object between a listing and its GET, say).

``op`` is one of :data:`OPS` (``head`` covers HEAD with and without checksums) or ``"*"``.
A fault's ``key`` matches the request's key (the prefix, for ``list``; any key of the batch,
for ``delete``); ``None`` matches every request. Faults are tried in the order they were
added; the first live one that matches fires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .._errors import RequestError, TransientError
from .memory_store import fail

__all__ = ["KINDS", "OPS", "Fault", "Faults"]

OPS = frozenset({"list", "head", "head_part", "get", "put", "create_multipart", "upload_part",
                 "complete", "abort", "delete", "copy", "copy_part", "list_parts"})
ERRORS: dict[str, tuple[int, str, str]] = {
    "error500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "error503": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "throttle": (503, "SlowDown", "Please reduce your request rate."),
    "denied": (403, "AccessDenied", "Access Denied"),
}
_GET = frozenset({"get"})
_BODY_OPS = {"corrupt": frozenset({"get", "put", "upload_part", "copy", "copy_part"}),
             "truncate": _GET,
             "unframed": _GET, "misrange": _GET}
KINDS = frozenset({*ERRORS, "error", *_BODY_OPS, "reset", "stall", "call"})


@dataclass(slots=True, eq=False)
class Fault:
    """One injected fault (see the module's docstring). ``hits`` counts the times it fired;
    ``times=None`` fires every time; ``after`` lets that many matching requests through
    first."""

    op: str
    kind: str
    bucket: str | None = None
    key: str | None = None
    times: int | None = 1
    after: int = 0
    at: int | None = None
    delay: float = 0.0
    call: Callable[[], object] | None = None
    status: int = 0
    code: str = ""
    hits: int = 0
    seen: int = 0

    @property
    def answer(self) -> tuple[int, str, str] | None:
        """The error answer (status, code, message) of an error kind, else ``None``."""
        if self.kind == "error":
            return self.status, self.code, f"{self.code} (injected)"
        return ERRORS.get(self.kind)

    @property
    def spent(self) -> bool:
        """True once it fired ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, op: str, bucket: str, keys: tuple[str, ...]) -> bool:
        """Whether a request ``op`` on ``bucket`` about ``keys`` is one this fault is for."""
        return ((self.op == "*" or self.op == op) and self.bucket in (None, bucket)
                and (self.key is None or self.key in keys))

    def error(self, bucket: str, key: str | None, *, head: bool = False) -> RequestError:
        """The error a request meets (the answer of :data:`ERRORS`, or a connection that
        failed). A HEAD answer has no body, so no error code, as with a real server."""
        where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
        if self.answer is not None:
            status, code, message = self.answer
            if head:
                return fail(status, None, None, bucket, key)
            return fail(status, code, message, bucket, key)
        why = ("timed out: no answer" if self.kind == "stall"
               else "Connection reset by peer")
        return TransientError(f"connection problem with {where}: {why} (injected)",
                              bucket=bucket, key=key)

    def flip(self, data: bytes) -> bytes:
        """``data`` with one byte flipped (at ``at``, or the middle): same length."""
        if not data:
            return data
        at = min(self.at if self.at is not None else len(data) // 2, len(data) - 1)
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


class Faults:
    """The faults of one transport: :meth:`add` them, read their ``hits``, :meth:`clear`."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self, op: str, key: str | None = None, *, kind: str, bucket: str | None = None,
        times: int | None = 1, after: int = 0, at: int | None = None, delay: float = 0.0,
        call: Callable[[], object] | None = None, status: int = 0, code: str = "",
    ) -> Fault:
        """Inject a fault; returns it (its ``hits`` tell how often it fired).

        Raises:
            ValueError: an unknown ``op`` or ``kind``, a body fault on an operation without
                that body, ``call`` without a callable, ``error`` without an error status
                (400 to 599) and code, or negative counts.
        """
        if op != "*" and op not in OPS:
            raise ValueError(f"op must be '*' or one of {sorted(OPS)}, not {op!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
        if kind in _BODY_OPS and op not in _BODY_OPS[kind]:
            raise ValueError(f"a {kind!r} fault needs a body: op must be one of "
                             f"{sorted(_BODY_OPS[kind])}, not {op!r}")
        if (kind == "call") != (call is not None):
            raise ValueError("call= goes with kind='call', and only with it")
        if (kind == "error") != bool(status or code) or (
                kind == "error" and not (400 <= status <= 599 and code)):
            raise ValueError("status= (400 to 599) and code= go with kind='error', and only "
                             "with it")
        if (times is not None and times < 1) or after < 0 or delay < 0 or (
                at is not None and at < 0):
            raise ValueError("times must be at least 1 (or None); after, at, delay >= 0")
        fault = Fault(op, kind, bucket, key, times, after, at, delay, call, status, code)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    @property
    def fired(self) -> int:
        """Times any fault fired."""
        return sum(fault.hits for fault in self._faults)

    def take(self, op: str, bucket: str, *keys: str, keyed: bool | None = None
             ) -> Fault | None:
        """The fault a request meets, counted as fired; ``None`` when it meets none.
        ``keyed`` True (False) considers only faults with (without) a ``key``."""
        for fault in self._faults:
            if fault.spent or not fault.matches(op, bucket, keys) or (
                    keyed is not None and keyed != (fault.key is not None)):
                continue
            fault.seen += 1
            if fault.seen > fault.after:
                fault.hits += 1
                return fault
        return None
