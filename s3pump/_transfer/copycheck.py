"""Whether a server-side copy holds its source's bytes, judged from what both sides say
(pure: no I/O).

Each side offers digests by algorithm: its full-object checksums (``x-amz-checksum-*`` of
type ``FULL_OBJECT``) and, for an object whose ETag is an MD5 (one part, not SSE-KMS or
SSE-C), that MD5; a multipart ETag is a digest too, of the part layout and bytes together
(``md5-of-md5s-N``): equal when a copy kept the source's parts. An algorithm both sides have
decides: equal is verified, different is a mismatch. None in common: unverifiable, never
verified.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from .._checksum import Checksum
from .._integrity import ALGORITHMS, Verdict

__all__ = ["digests", "judge_copy"]

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_MULTIPART = re.compile(r"^[0-9a-fA-F]{32}-[1-9][0-9]{0,4}$")


def _encrypted(headers: Mapping[str, str]) -> bool:
    return headers.get("x-amz-server-side-encryption", "").lower().startswith("aws:kms") or (
        bool(headers.get("x-amz-server-side-encryption-customer-algorithm")))


def digests(headers: Mapping[str, str], etag: str, *, checksum: Checksum | None = None
            ) -> dict[str, str]:
    """What ``headers`` (a HEAD's, names in lower case), ``etag`` and an answer's
    full-object ``checksum`` tell of an object's content: algorithm -> value
    (``"MD5"``: the ETag's hex, ``"MPETAG"``: a multipart ETag, the CRCs and SHAs base64)."""
    found: dict[str, str] = {}
    composite = headers.get("x-amz-checksum-type", "").upper() == "COMPOSITE"
    for algorithm in ALGORITHMS[:-1]:
        value = headers.get(f"x-amz-checksum-{algorithm.lower()}", "")
        if not value or composite or "-" in value:
            continue
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        found[algorithm] = value
    if checksum is not None:
        found.setdefault(checksum.algorithm, checksum.value)
    tag = etag.strip('"')
    if not _encrypted(headers):
        if _MD5.match(tag):
            found["MD5"] = tag.lower()
        elif _MULTIPART.match(tag):
            found["MPETAG"] = tag.lower()
    return found


def judge_copy(source: Mapping[str, str], copy: Mapping[str, str]) -> Verdict:
    """The verdict on a copy from the ``digests`` of its source and of the copy."""
    common = [a for a in (*ALGORITHMS, "MPETAG") if a in source and a in copy]
    for algorithm in common:
        if source[algorithm] != copy[algorithm]:
            return Verdict("mismatch", algorithm, source[algorithm], copy[algorithm],
                           "the copy differs from its source")
    if common:
        return Verdict("verified", common[0], source[common[0]], copy[common[0]])
    return Verdict("unverifiable", reason=(
        f"nothing to compare: the source offers {', '.join(sorted(source)) or 'nothing'}, "
        f"the copy {', '.join(sorted(copy)) or 'nothing'}"))
