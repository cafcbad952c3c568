"""One GET of the lean transport as an async context: the request (a range, or the stored
checksums asked for; ``If-Match`` pinning the version), the answer's framing and version
checked, its :class:`~.body.LeanBody` handed out, the answer released on exit. A GET of
one version (``versionId``) is the same context."""

from __future__ import annotations

from .._framing import check_pin, frame_answer
from .body import Exchange, LeanBody
from .client import LeanClient
from .h1splice import hold
from .http11 import H1Response
from .sigv4 import canonical_query

__all__ = ["GetContext"]


class GetContext:
    """The context of one GET: its :class:`LeanBody`, the answer released on exit (an
    unread body closes the connection: it cannot be reused). A class rather than an
    ``asynccontextmanager``: no async generator to make, hook and finalise per GET (~4 us
    of the ~0.4 ms a small object costs)."""

    __slots__ = ("_bucket", "_client", "_if_match", "_key", "_range", "_resp", "_version")

    def __init__(self, client: LeanClient, bucket: str, key: str,
                 byte_range: tuple[int, int] | None, if_match: str | None,
                 version_id: str | None = None) -> None:
        self._client = client
        self._version = version_id  # a version's GET: ``versionId`` in the query
        self._bucket = bucket
        self._key = key
        self._range = byte_range
        self._if_match = if_match
        self._resp: Exchange | None = None

    async def __aenter__(self) -> LeanBody:
        bucket, key, byte_range, if_match = self._bucket, self._key, self._range, self._if_match
        headers: dict[str, str] = {}
        if byte_range is not None:
            headers["range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        else:
            headers["x-amz-checksum-mode"] = "ENABLED"
        if if_match:
            headers["if-match"] = f'"{if_match}"'
        client = self._client
        query = canonical_query({"versionId": self._version}) if self._version else ""
        resp = await client.exchange("GET", bucket, key, headers=headers, query=query)
        if resp.status not in (200, 206):
            raise await client.fail(resp, bucket, key)
        try:
            framing = frame_answer(resp.status, resp.headers.get("content-length"),
                                   resp.headers.get("content-range"), byte_range,
                                   bucket=bucket, key=key)
            body = LeanBody(resp, bucket, key, framing, whole=byte_range is None)
            check_pin(if_match, body.etag, bucket=bucket, key=key)
            if byte_range is not None and isinstance(resp, H1Response) and body.can_copy_into:
                hold(resp)  # a part is likely spliced into a file: read nothing ahead
        except BaseException:
            resp.release()
            raise
        self._resp = resp
        return body

    async def __aexit__(self, *exc_info: object) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.release()
