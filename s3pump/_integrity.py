"""Checking downloaded bytes against what S3 says they should be. Pure: no I/O.

S3 offers up to two kinds of evidence about an object's content:

- a checksum header, ``x-amz-checksum-<algorithm>`` (sent on GET and HEAD when the request
  carries ``x-amz-checksum-mode: ENABLED``), with ``x-amz-checksum-type`` saying whether it
  is of the whole object (``FULL_OBJECT``) or a checksum of the part checksums of a multipart
  upload (``COMPOSITE``, value ``"<base64>-<parts>"``), which cannot be checked from ranges of
  unknown boundaries;
- the ETag, which is the MD5 of the content for a single-part upload that is not encrypted
  with SSE-KMS or SSE-C (32 hex digits, no ``-N`` suffix).

:func:`expect` turns response headers into an :class:`Expectation`; a :class:`Verifier` is
fed the body (:meth:`Verifier.feed`, in order) or ranged parts (:meth:`Verifier.part`, each
fed in order, parts in any order) and gives a :class:`Verdict`. CRCs of parts are combined
into the CRC of the whole (:func:`crc_combine`, arithmetic over GF(2)), so ranged downloads
are checked without reading the file again; MD5 and SHA digests cannot be combined, so a
ranged download that only has those is fed in order as its parts land
(:mod:`s3pump._transfer.inorder`). A multipart ETag (:func:`multipart_etag`) is checked by
a :class:`MultipartEtagHasher` once the upload's part sizes are known
(:mod:`s3pump._transfer.mpetag`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

__all__ = [
    "ALGORITHMS",
    "CRC_ALGORITHMS",
    "EVIDENCE_HEADERS",
    "Expectation",
    "Hasher",
    "MultipartEtagHasher",
    "PartHasher",
    "Verdict",
    "Verifier",
    "crc_combine",
    "evidence",
    "expect",
    "multipart_etag",
    "new_hasher",
]

CRC_ALGORITHMS: Final = ("CRC64NVME", "CRC32C", "CRC32")
# In order of preference: CRCs first (fast, and they combine across ranged parts).
ALGORITHMS: Final = (*CRC_ALGORITHMS, "SHA256", "SHA1", "MD5")

Status = Literal["verified", "mismatch", "unverifiable"]

# The response headers :func:`expect` reads besides the ETag (names in lower case).
EVIDENCE_HEADERS: Final = (
    *(f"x-amz-checksum-{a.lower()}" for a in ALGORITHMS[:-1]),
    "x-amz-checksum-type",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-customer-algorithm",
)


class Hasher(Protocol):
    """An incremental hash: ``update`` with the bytes in order, then ``digest``."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        """Add ``data`` to the hash."""
        ...

    def digest(self) -> bytes:
        """The digest of everything added so far, as S3 encodes it (big-endian for CRCs)."""
        ...


@dataclass(frozen=True, slots=True)
class _CrcSpec:
    width: int
    reflected_poly: int  # the polynomial, bit-reversed (these CRCs are reflected)
    function: str  # its name in awscrt.checksums

    @property
    def compute(self) -> Callable[[bytes, int], int]:
        # awscrt is imported on first use: loading its native library takes ~45 ms, which
        # a run that meets no CRC (an MD5 ETag, or nothing to check) should not pay.
        from awscrt import checksums  # type: ignore[import-untyped]

        function: Callable[[bytes, int], int] = getattr(checksums, self.function)
        return function


_CRCS: Final[dict[str, _CrcSpec]] = {
    "CRC32": _CrcSpec(32, 0xEDB88320, "crc32"),
    "CRC32C": _CrcSpec(32, 0x82F63B78, "crc32c"),
    "CRC64NVME": _CrcSpec(64, 0x9A6C9329AC4BC9B5, "crc64nvme"),
}


class _Crc:
    """An incremental CRC over awscrt (hardware-accelerated, releases no state between calls)."""

    __slots__ = ("_compute", "_size", "value")

    def __init__(self, spec: _CrcSpec) -> None:
        self._compute = spec.compute
        self._size = spec.width // 8
        self.value = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.value = self._compute(data, self.value)  # type: ignore[arg-type]

    def digest(self) -> bytes:
        return self.value.to_bytes(self._size, "big")


def new_hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher for an S3 checksum ``algorithm`` (``"CRC32C"``, ``"MD5"``...).

    Raises:
        ValueError: an algorithm S3 does not define.
    """
    name = algorithm.upper()
    if name in _CRCS:
        return _Crc(_CRCS[name])
    if name in ("SHA256", "SHA1", "MD5"):
        return hashlib.new(name.lower(), usedforsecurity=False)
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


# -- combining CRCs ---------------------------------------------------------------------------
# With init = xorout = all ones (true of all three), crc(A+B) = crc(A)·x^(8·len(B)) mod P
# xor crc(B), the product taken in GF(2)[x] modulo the CRC's polynomial P (zlib's
# crc32_combine, generalised to any width). In the reflected representation the highest bit
# is x^0.


def _multmodp(a: int, b: int, poly: int, top: int) -> int:
    """a·b modulo the polynomial, both in reflected form."""
    product = 0
    mask = top
    while a:
        if a & mask:
            product ^= b
            a ^= mask
        mask >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1
    return product


@functools.cache
def _power_table(spec: _CrcSpec) -> tuple[int, ...]:
    """x^(2^k) mod P for k = 0..63, reflected (computed on first use)."""
    top = 1 << (spec.width - 1)
    table = [top >> 1]  # x^1
    for _ in range(63):
        table.append(_multmodp(table[-1], table[-1], spec.reflected_poly, top))
    return tuple(table)


def crc_combine(algorithm: str, crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC of A followed by B, from the CRC of A, the CRC of B and B's length in bytes.

    Raises:
        ValueError: ``algorithm`` is not one of :data:`CRC_ALGORITHMS`, or a negative length.
    """
    spec = _CRCS.get(algorithm.upper())
    if spec is None:
        raise ValueError(f"only CRCs combine, not {algorithm!r}")
    if length_b < 0:
        raise ValueError(f"negative length {length_b}")
    top = 1 << (spec.width - 1)
    powers = _power_table(spec)
    shift = top  # x^0
    bits = length_b * 8
    k = 0
    while bits:
        if bits & 1:
            shift = _multmodp(powers[k % 64], shift, spec.reflected_poly, top)
        bits >>= 1
        k += 1
    return _multmodp(shift, crc_a, spec.reflected_poly, top) ^ crc_b


# -- what S3 offers ---------------------------------------------------------------------------

_MD5_ETAG = re.compile(r"^[0-9a-fA-F]{32}$")
_MAX_PARTS = 10_000  # S3's limit: a larger count is no multipart ETag of S3's
_COMPOSITE = re.compile(r"^(.+)-(\d+)$")


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the content should hash to: ``algorithm`` and raw ``digest``, or why not known.

    ``source`` names the evidence (``"x-amz-checksum-crc32c"``, ``"etag"``); when
    ``algorithm`` is ``None``, ``reason`` says why nothing can be checked.
    """

    algorithm: str | None
    digest: bytes = b""
    source: str = ""
    reason: str = ""

    @property
    def combinable(self) -> bool:
        """True when ranged parts can be checked separately and combined (a CRC)."""
        return self.algorithm in _CRCS

    @property
    def b64(self) -> str:
        """The expected value as S3 writes it in checksum headers (base64)."""
        return base64.b64encode(self.digest).decode("ascii")


def evidence(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of :data:`EVIDENCE_HEADERS` that ``headers`` holds, names in lower case.

    ``headers`` must look names up without regard to case (or hold them in lower case).
    """
    return {name: headers[name] for name in EVIDENCE_HEADERS if name in headers}


_CHECKSUM_HEADERS: Final = tuple((a, f"x-amz-checksum-{a.lower()}") for a in ALGORITHMS[:-1])


def expect(
    headers: Mapping[str, str], etag: str | None = None, *, ranged: bool = False
) -> Expectation:
    """The best check the response ``headers`` (and ``etag``, quoted or not) allow.

    Full-object checksums come first (CRCs before SHAs), then the MD5 ETag of a
    single-part object that is not SSE-KMS or SSE-C encrypted. With ``ranged``, only
    evidence that can be checked from parts (a full-object CRC) counts. Header names are
    matched in any case.
    """
    headers = {k.lower(): v for k, v in headers.items()}  # once: called for every object
    declared = headers.get("x-amz-checksum-type", "").upper()
    tag = (etag if etag is not None else headers.get("etag", "")).strip('"')
    # A multipart object's checksum without a declared type is taken as COMPOSITE (what S3
    # did before full-object multipart checksums; moto still sends it so, with no suffix).
    multipart = bool(_COMPOSITE.match(tag))
    reasons: list[str] = []
    for algorithm, name in _CHECKSUM_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        if declared == "COMPOSITE" or _COMPOSITE.match(value) or (multipart and not declared):
            reasons.append(f"{algorithm} is a checksum of the parts of a multipart upload "
                           "(COMPOSITE), not of the content")
            continue
        if ranged and algorithm not in _CRCS:
            reasons.append(f"{algorithm} of ranged parts cannot be combined")
            continue
        try:
            digest = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            reasons.append(f"{name} is not base64: {value!r}")
            continue
        size = _CRCS[algorithm].width // 8 if algorithm in _CRCS else (
            hashlib.new(algorithm.lower(), usedforsecurity=False).digest_size)
        if len(digest) != size:
            reasons.append(f"{name} has {len(digest)} bytes, not {size}")
            continue
        return Expectation(algorithm, digest, name)
    encryption = headers.get("x-amz-server-side-encryption", "").lower()
    if not tag:
        reasons.append("no ETag")
    elif not _MD5_ETAG.match(tag):
        reasons.append(f"ETag {tag!r} is not an MD5 (multipart upload)")
    elif encryption.startswith("aws:kms") or headers.get(
        "x-amz-server-side-encryption-customer-algorithm"
    ):
        reasons.append("ETag of an SSE-KMS or SSE-C object is not an MD5")
    elif ranged:
        reasons.append("MD5 ETag of ranged parts cannot be combined")
    else:
        return Expectation("MD5", bytes.fromhex(tag), "etag")
    if not any(headers.get(name) for _, name in _CHECKSUM_HEADERS):
        reasons.insert(0, "no checksum header")
    return Expectation(None, reason="; ".join(reasons))


def multipart_etag(headers: Mapping[str, str], etag: str) -> tuple[bytes, int] | None:
    """The digest and part count of a multipart ETag (``<md5 of the part MD5s>-N``) that
    can be checked, when nothing better can: ``None`` when :func:`expect` finds a check,
    the ETag is not of that form, or the object is SSE-KMS or SSE-C encrypted (its ETag is
    then no MD5 of anything we see)."""
    tag = etag.strip('"')
    match = re.fullmatch(r"([0-9a-fA-F]{32})-([1-9][0-9]{0,4})", tag)
    if match is None or int(match.group(2)) > _MAX_PARTS:
        return None
    if expect(headers, tag).algorithm is not None:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("x-amz-server-side-encryption", "").lower().startswith("aws:kms") or (
        lower.get("x-amz-server-side-encryption-customer-algorithm")
    ):
        return None
    return bytes.fromhex(match.group(1)), int(match.group(2))


class MultipartEtagHasher:
    """The ETag of a multipart upload as a :class:`Hasher`: ``md5(md5(part_1) + ... +
    md5(part_N))``, for parts of the given ``sizes`` (in order). Bytes beyond the last part,
    or too few, give a digest that matches nothing.

    Raises:
        ValueError: no parts, or an empty one.
    """

    def __init__(self, sizes: list[int]) -> None:
        if not sizes or min(sizes) <= 0:
            raise ValueError("a multipart upload has at least one part, none empty")
        self._sizes = sizes
        self._index = 0
        self._left = sizes[0] if sizes else 0
        self._part = hashlib.md5(usedforsecurity=False)
        self._digests: list[bytes] = []
        self._overflow = False

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        view = memoryview(data)
        while len(view):
            if self._index >= len(self._sizes):
                self._overflow = True
                return
            take = min(len(view), self._left)
            self._part.update(view[:take])
            view = view[take:]
            self._left -= take
            if self._left == 0:
                self._digests.append(self._part.digest())
                self._part = hashlib.md5(usedforsecurity=False)
                self._index += 1
                self._left = self._sizes[self._index] if self._index < len(self._sizes) else 0

    def digest(self) -> bytes:
        if self._overflow or len(self._digests) != len(self._sizes):
            return b""  # the bytes do not fill the parts exactly
        return hashlib.md5(b"".join(self._digests), usedforsecurity=False).digest()


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: ``status`` is ``"verified"``, ``"mismatch"`` or ``"unverifiable"``."""

    status: Status
    algorithm: str | None = None
    expected: str = ""
    actual: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        """False only for a mismatch: the bytes are not what S3 holds."""
        return self.status != "mismatch"

    def __str__(self) -> str:
        if self.status == "verified":
            return f"verified ({self.algorithm})"
        if self.status == "mismatch":
            return (f"{self.algorithm} mismatch: expected {self.expected}, got {self.actual}"
                    + (f" ({self.reason})" if self.reason else ""))
        return f"unverifiable: {self.reason}"


class PartHasher:
    """Hashes one ranged part: :meth:`feed` its pieces in order, then :meth:`done`.

    A part whose attempt fails is simply dropped (never ``done``); its retry takes a new one.
    """

    __slots__ = ("_crc", "_length", "_owner", "offset")

    def __init__(self, owner: Verifier, offset: int) -> None:
        self._owner = owner
        self.offset = offset
        self._crc = owner._crc_value_for_part()
        self._length = 0

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        """Add the next piece of this part."""
        if self._crc is not None:
            self._crc.update(piece)
        self._length += len(piece)

    def done(self) -> None:
        """The part arrived whole: record it."""
        self._owner._parts[self.offset] = (
            self._length, self._crc.value if self._crc is not None else 0)


class Verifier:
    """Checks one object of ``size`` bytes against ``expectation`` (with ``hasher``, when
    given, instead of the algorithm's own: see :class:`MultipartEtagHasher`).

    Whole body: call :meth:`feed` with every piece in order. Ranged: for each part,
    ``hasher = verifier.part(offset)``, ``hasher.feed(piece)``..., ``hasher.done()``; the
    parts may finish in any order. Then :meth:`verdict`. When nothing can be checked,
    ``feed`` does nothing at all.
    """

    def __init__(
        self, expectation: Expectation, size: int, hasher: Hasher | None = None
    ) -> None:
        self.expectation = expectation
        self.size = size
        self._fed = 0
        self._parts: dict[int, tuple[int, int]] = {}
        self._hasher: Hasher | None = None
        if expectation.algorithm is not None:
            self._hasher = hasher or new_hasher(expectation.algorithm)
        else:
            self.feed = _ignore  # type: ignore[method-assign]

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        """Add the next piece of the body (pieces in order, from the first byte)."""
        assert self._hasher is not None
        self._hasher.update(piece)
        self._fed += len(piece)

    def part(self, offset: int) -> PartHasher:
        """A hasher for the ranged part starting at ``offset``."""
        return PartHasher(self, offset)

    def _crc_value_for_part(self) -> _Crc | None:
        algorithm = self.expectation.algorithm
        if algorithm is None or algorithm not in _CRCS:
            return None
        return _Crc(_CRCS[algorithm])

    def verdict(self) -> Verdict:
        """The outcome, from the pieces or the parts that were fed."""
        exp = self.expectation
        if exp.algorithm is None:
            return Verdict("unverifiable", reason=exp.reason)
        if self._parts:
            if not exp.combinable:
                return Verdict("unverifiable", exp.algorithm,
                               reason=f"{exp.algorithm} of ranged parts cannot be combined")
            digest = self._combined()
            if digest is None:
                return Verdict("unverifiable", exp.algorithm,
                               reason="the parts do not cover the object exactly")
            fed = self.size
        else:
            assert self._hasher is not None
            digest, fed = self._hasher.digest(), self._fed
        if fed != self.size:
            return Verdict("unverifiable", exp.algorithm,
                           reason=f"{fed} of {self.size} bytes were hashed")
        actual = base64.b64encode(digest).decode("ascii")
        if digest == exp.digest:
            return Verdict("verified", exp.algorithm, exp.b64, actual)
        return Verdict("mismatch", exp.algorithm, exp.b64, actual, reason=exp.source)

    def _combined(self) -> bytes | None:
        algorithm = self.expectation.algorithm
        assert algorithm is not None
        total, crc = 0, 0
        for offset in sorted(self._parts):
            length, value = self._parts[offset]
            if offset != total:
                return None
            crc = crc_combine(algorithm, crc, value, length) if total else value
            total += length
        if total != self.size:
            return None
        return crc.to_bytes(_CRCS[algorithm].width // 8, "big")


def _ignore(piece: bytes | bytearray | memoryview) -> None:
    return None
