"""A small S3 server on 127.0.0.1 whose listings misbehave on demand.

It keeps one bucket's objects in memory and answers what ``get`` and ``sync`` (both ways)
need: ListObjectsV2, HEAD, GET, PUT, DeleteObjects and DeleteObject. Signatures are not
checked. Listings are served ``page`` keys at a time (fewer than MaxKeys, as servers may),
with these faults (``ListingServer(mode=...)``):

- ``"truncated_no_token"``: every page says IsTruncated=true and sends no token after the first;
- ``"repeat_token"``: every page is the first page again, with the same token;
- ``"duplicate"``: each page after the first starts with the previous page's last key;
- ``"backwards"``: the second page's keys come before the first page's;
- ``"duplicate_prefix"``: each delimiter page after the first repeats the last CommonPrefix;
- ``"seaweed"``: start-after is compared with directory names, as SeaweedFS does: a folder
  whose name sorts at or below start-after is skipped whole (``d05`` <= ``d05.``);
- ``"s3rver"``: delimiter listings leave out folders that hold only folders, as s3rver does;
- ``"empty_forever"``: after the first page, empty truncated pages, each with a new token;
- ``"outside_prefix"``: the second page holds a key outside the prefix asked for;
- ``"not_a_folder"``: delimiter listings name ``<prefix>zz`` (no delimiter) as a folder;
- ``"good"``: none.

Requests are counted by kind in :attr:`ListingServer.counts`; the listing answers a 500 after
``max_lists`` requests so that a client that loops stops anyway (and the test fails).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote, unquote
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = ["MODES", "ListingServer"]

MODES = ("good", "truncated_no_token", "repeat_token", "duplicate", "backwards",
         "duplicate_prefix", "seaweed", "s3rver", "empty_forever", "outside_prefix", "not_a_folder")
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_DATE = "2024-01-02T03:04:05.000Z"


@dataclass
class _Page:
    keys: list[str]
    prefixes: list[str]
    truncated: bool
    token: str | None


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _untoken(token: str) -> str:
    return base64.urlsafe_b64decode(token.encode()).decode()


class ListingServer:
    """``with ListingServer(objects, mode=...) as url:`` serves ``bucket`` in a thread (for
    the CLI, which runs its own event loop); ``async with`` serves it in the running loop."""

    def __init__(self, objects: dict[str, bytes], *, mode: str = "good",
                 bucket: str = "bkt", page: int = 2, max_lists: int = 500) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.objects = dict(objects)
        self.mode = mode
        self.bucket = bucket
        self.page = page
        self.max_lists = max_lists
        self.counts: Counter[str] = Counter()
        self.deleted: list[str] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None]

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> str:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or not self.url:
            raise RuntimeError("listing server did not start")
        return self.url

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def __aenter__(self) -> str:
        """Serve in the running event loop instead (for async tests)."""
        self._task = asyncio.get_running_loop().create_task(self._main())
        while not self._ready.is_set():
            await asyncio.sleep(0.001)
        return self.url

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._stop is not None
        self._stop.set()
        await self._task

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        handler = runner.server
        assert handler is not None
        listener = await loop.create_server(handler, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            listener.close()
            # Connections being accepted finish being accepted; then every connection still
            # open (one a client dropped mid-request included) is closed before the loop
            # ends, and its close callbacks run.
            await asyncio.sleep(0.05)
            open_now = list(handler._connections.values())
            await runner.cleanup()
            for transport in open_now:
                transport.abort()
            await asyncio.sleep(0.01)

    # -- requests ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path.split("?", 1)[0]
        parts = path.lstrip("/").split("/", 1)
        bucket = unquote(parts[0])
        key = unquote(parts[1]) if len(parts) > 1 else ""
        if bucket != self.bucket:
            return _error(404, "NoSuchBucket")
        query = request.query
        method = request.method
        if method == "GET" and not key and query.get("list-type") == "2":
            self.counts["list"] += 1
            if self.counts["list"] > self.max_lists:
                return _error(500, "TooManyListings")
            return self._list(query)
        if method == "GET" and not key and "location" in query:
            return web.Response(body=f'<LocationConstraint xmlns="{_NS}"/>'.encode(),
                                content_type="application/xml")
        if method == "HEAD" and not key:
            return web.Response()
        if method == "POST" and "delete" in query:
            self.counts["delete"] += 1
            return self._delete_many(await request.read())
        if method in ("GET", "HEAD") and key:
            self.counts[method.lower()] += 1
            return self._get(key, method == "HEAD")
        if method == "PUT" and key:
            self.counts["put"] += 1
            self.objects[key] = await request.read()
            return web.Response(headers={"ETag": f'"{_md5(self.objects[key])}"'})
        if method == "DELETE" and key:
            self.counts["delete"] += 1
            self.deleted.append(key)
            self.objects.pop(key, None)
            return web.Response(status=204)
        return _error(501, "NotImplemented")

    def _get(self, key: str, head: bool) -> web.Response:
        body = self.objects.get(key)
        if body is None:
            return _error(404, "NoSuchKey") if not head else web.Response(status=404)
        headers = {"ETag": f'"{_md5(body)}"', "Last-Modified": "Tue, 02 Jan 2024 03:04:05 GMT",
                   "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if head:
            headers["Content-Length"] = str(len(body))
            return web.Response(headers=headers)
        return web.Response(body=body, headers=headers)

    def _delete_many(self, body: bytes) -> web.Response:
        root = ET.fromstring(body)
        keys = [el.text or "" for el in root.iter() if el.tag.endswith("Key")]
        for key in keys:
            self.deleted.append(key)
            self.objects.pop(key, None)
        return web.Response(body=f'<DeleteResult xmlns="{_NS}"></DeleteResult>'.encode(),
                            content_type="application/xml")

    # -- listings ---------------------------------------------------------------------

    def _visible(self, prefix: str, start_after: str, past: str = "") -> Iterator[str]:
        for key in sorted(self.objects):
            if not key.startswith(prefix) or key <= start_after:
                continue
            if past and key.startswith(past):
                continue  # rolled up into the common prefix the last page ended with
            if self.mode == "seaweed" and _skipped_folder(key, start_after):
                continue
            yield key

    def _entries(self, prefix: str, delimiter: str, start_after: str,
                 past: str = "") -> list[tuple[str, bool]]:
        """(key or common prefix, is a prefix), in S3's order."""
        out: list[tuple[str, bool]] = []
        seen: set[str] = set()
        for key in self._visible(prefix, start_after, past):
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                out.append((key, False))
                continue
            common = key[:cut + len(delimiter)]
            if common in seen:
                continue
            if self.mode == "s3rver" and not self._holds_objects(common, delimiter):
                continue
            seen.add(common)
            out.append((common, True))
        return out

    def _holds_objects(self, folder: str, delimiter: str) -> bool:
        return any(k.startswith(folder) and delimiter not in k[len(folder):]
                   for k in self.objects)

    def _list(self, query: object) -> web.Response:
        q = dict(query)  # type: ignore[call-overload]
        prefix = q.get("prefix", "")
        delimiter = q.get("delimiter", "")
        max_keys = min(int(q.get("max-keys", "1000")), self.page)
        token = q.get("continuation-token")
        after = _untoken(token) if token else q.get("start-after", "")
        if self.mode == "repeat_token":
            after = q.get("start-after", "")
        past = after if delimiter and token and after.endswith(delimiter) else ""
        entries = self._entries(prefix, delimiter, after, past)
        page = entries[:max_keys]
        truncated = len(entries) > max_keys
        next_token = _token(page[-1][0]) if truncated and page else None
        if self.mode == "duplicate" and token and page:
            # The continuation is inclusive: the previous page's last key comes again.
            page = [(_untoken(token), False), *page]
        if self.mode == "duplicate_prefix" and token:
            last = _untoken(token)
            if last.endswith(delimiter or "\0"):
                page = [(last, True), *page]
        if self.mode == "backwards" and token:
            page = [(k, p) for k, p in self._entries(prefix, delimiter, "")[:max_keys]]
            truncated, next_token = False, None
        if self.mode == "empty_forever" and token:
            page, truncated = [], True
            next_token = _token(f"{after}#{self.counts['list']}")
        if self.mode == "outside_prefix" and token:
            page = [("zzz-elsewhere", False), *page]
        if self.mode == "not_a_folder" and delimiter and not truncated:
            page = [*page, (prefix + "zz", True)]
        if self.mode == "truncated_no_token":
            truncated = True
            next_token = None
        return self._render(q, _Page([k for k, p in page if not p], [k for k, p in page if p],
                                     truncated, next_token))

    def _render(self, q: dict[str, str], page: _Page) -> web.Response:
        url = q.get("encoding-type") == "url"

        def enc(text: str) -> str:
            return escape(quote(text, safe="/") if url else text)

        out = [f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{_NS}">',
               f"<Name>{self.bucket}</Name><Prefix>{enc(q.get('prefix', ''))}</Prefix>",
               f"<KeyCount>{len(page.keys) + len(page.prefixes)}</KeyCount>",
               f"<MaxKeys>{q.get('max-keys', '1000')}</MaxKeys>",
               f"<IsTruncated>{'true' if page.truncated else 'false'}</IsTruncated>"]
        if q.get("continuation-token"):
            out.append(f"<ContinuationToken>{escape(q['continuation-token'])}"
                       "</ContinuationToken>")
        if page.token:
            out.append(f"<NextContinuationToken>{escape(page.token)}</NextContinuationToken>")
        if q.get("delimiter"):
            out.append(f"<Delimiter>{enc(q['delimiter'])}</Delimiter>")
        if url:
            out.append("<EncodingType>url</EncodingType>")
        for key in page.keys:
            body = self.objects.get(key, b"")
            out.append(f"<Contents><Key>{enc(key)}</Key><LastModified>{_DATE}</LastModified>"
                       f"<ETag>&quot;{_md5(body)}&quot;</ETag><Size>{len(body)}</Size>"
                       "<StorageClass>STANDARD</StorageClass></Contents>")
        for common in page.prefixes:
            out.append(f"<CommonPrefixes><Prefix>{enc(common)}</Prefix></CommonPrefixes>")
        out.append("</ListBucketResult>")
        return web.Response(body="".join(out).encode(), content_type="application/xml")


def _skipped_folder(key: str, start_after: str) -> bool:
    """Whether SeaweedFS would skip ``key``: a folder on its path whose name (without the
    slash) sorts at or below ``start_after`` and does not hold ``start_after`` is passed over."""
    if not start_after:
        return False
    at = key.find("/")
    while at >= 0:
        folder = key[:at]
        if folder <= start_after and not start_after.startswith(folder + "/"):
            return True
        at = key.find("/", at + 1)
    return False


def _md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def _error(status: int, code: str) -> web.Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{code}</Message></Error>").encode()
    return web.Response(status=status, body=body, content_type="application/xml")
