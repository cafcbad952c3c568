"""A small misbehaving S3 server (raw asyncio on 127.0.0.1, port 0, in its own thread).

It serves one bucket, path-style, unsigned checks (any Authorization is accepted): enough of
ListObjectsV2, HEAD and GET for s3pump's downloads and reads. Its answers spoil on purpose,
as :attr:`BadS3.mode` says, for as many GETs as :attr:`BadS3.faults` allows (``None``: all):

- ``"healthy"``: Content-Length framing, 206 with the right Content-Range, If-Match honoured;
- ``"chunked"`` / ``"close"``: whole bodies framed by chunked coding / by the connection's
  end (no Content-Length), complete;
- ``"chunked_short"`` / ``"close_short"``: the same framings, the body cut in half and then
  ended cleanly (a terminating zero chunk / a clean close); ranged answers too (their
  Content-Range right, no Content-Length);
- ``"chunked_long"`` / ``"close_long"``: the body with extra bytes after it (ranged too);
- ``"chunked_and_length"``: chunked coding and a (wrong) Content-Length: a sign of
  response splitting, to be refused (RFC 9112, 6.3);
- ``"wrong_range"``: ranged GETs answered 206 for the range one byte further on (the
  Content-Range honestly names the bytes sent);
- ``"wrong_total"``: ranged GETs answered 206 with the right range and a wrong total;
- ``"range_200_whole"``: ranged GETs answered 200 with the whole object, no Content-Range;
- ``"partial_whole"``: whole GETs answered 206 with the first half and a Content-Range
  that says so;
- ``"range_200_cr"``: ranged GETs answered 200 with a matching Content-Range and just the
  range (what rclone does): correct, and must be accepted;
- ``"hold_half"``: the right head (Content-Length framing), half the body, then nothing more:
  the connection is held open until the client closes it (counted in
  :attr:`BadS3.closed_while_held`; a request sent on it instead counts in
  :attr:`BadS3.reused_after_hold`).

A stale replica: :meth:`BadS3.put_stale` makes GETs serve an older version (its bytes and its
ETag, If-Match ignored) while the listing shows the current one; ``stale_head`` says whether
HEAD is stale too. Stale answers need no ``faults`` budget: they last until
:meth:`BadS3.heal`.

With :attr:`BadS3.spoil_start` set, only the ranged GETs from that offset are spoiled.

ETags are ``"<md5>-1"`` (multipart-like) unless ``md5_etags`` is set, so that a size check,
not an MD5 check, is what must catch a short body. Every GET's headers are recorded in
:attr:`BadS3.gets`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

__all__ = ["BUCKET", "BadS3", "Version"]

BUCKET = "bad"
_MODES = ("healthy", "chunked", "close", "chunked_short", "close_short", "chunked_long",
          "close_long", "chunked_and_length", "wrong_range", "wrong_total", "range_200_whole",
          "range_200_cr", "partial_whole", "hold_half")
_DATE = "Mon, 01 Jan 2024 00:00:00 GMT"
_ISO = "2024-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Version:
    """One version of an object: its bytes and ETag (unquoted)."""

    data: bytes
    etag: str


class BadS3:
    """``with BadS3() as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, *, md5_etags: bool = False) -> None:
        self.md5_etags = md5_etags
        self.mode = "healthy"
        self.faults: int | None = None  # spoiled GETs left (None: every GET)
        self.stale_head = False
        self.spoil_start: int | None = None  # spoil only ranged GETs from this offset
        self.listed_sizes: dict[str, int] = {}  # sizes the listing claims instead of the real
        self.listed_versions: dict[str, Version] = {}  # what the listing shows instead
        self.precondition_failures = 0
        self.objects: dict[str, Version] = {}
        self.stale: dict[str, Version] = {}
        self.gets: list[dict[str, str]] = []
        self.spoiled = 0
        self.held = 0  # answers of "hold_half" sent (their connections then held)
        self.closed_while_held = 0
        self.reused_after_hold = 0
        self._holding: set[asyncio.StreamWriter] = set()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- content ------------------------------------------------------------------------

    def version(self, data: bytes) -> Version:
        """A version of ``data`` with this server's kind of ETag."""
        md5 = hashlib.md5(data).hexdigest()
        return Version(data, md5 if self.md5_etags else f"{md5}-1")

    def put(self, key: str, data: bytes) -> Version:
        """Store ``data`` as the current version of ``key``."""
        self.objects[key] = self.version(data)
        return self.objects[key]

    def put_stale(self, key: str, old: bytes) -> Version:
        """Serve ``old`` on GETs of ``key`` (If-Match ignored) until :meth:`heal`."""
        self.stale[key] = self.version(old)
        return self.stale[key]

    def heal(self) -> None:
        """Healthy answers from now on."""
        self.mode = "healthy"
        self.faults = None
        self.stale.clear()
        self.stale_head = False

    def set_mode(self, mode: str, faults: int | None = None) -> None:
        """Spoil the next ``faults`` GETs (``None``: all) as ``mode`` says."""
        if mode not in _MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode, self.faults = mode, faults

    # -- life ---------------------------------------------------------------------------

    def __enter__(self) -> BadS3:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    # -- HTTP ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                keep = await self._answer(writer, method, target, headers)
                await writer.drain()
                if writer in self._holding:  # nothing more, until the client gives up
                    if await reader.read(1):
                        self.reused_after_hold += 1
                    else:
                        self.closed_while_held += 1
                    return
                if not keep:
                    return
        except ConnectionError:
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, method: str, target: str,
                      headers: dict[str, str]) -> bool:
        """Write one answer; whether the connection may carry another."""
        path, _, query = target.partition("?")
        parts = unquote(path).lstrip("/").split("/", 1)
        if parts[0] != BUCKET:
            return _send(writer, 404, {}, _error("NoSuchBucket"))
        if len(parts) == 1 or not parts[1]:
            return _send(writer, 200, {"content-type": "application/xml"},
                         self._listing(dict(parse_qsl(query, keep_blank_values=True))))
        key = parts[1]
        if key not in self.objects:
            return _send(writer, 404, {}, b"" if method == "HEAD" else _error("NoSuchKey"))
        if method == "HEAD":
            version = self.stale.get(key, self.objects[key]) if self.stale_head else (
                self.objects[key])
            return _send(writer, 200, _meta(version), b"", length=len(version.data))
        self.gets.append(headers)
        stale = self.stale.get(key)
        version = stale or self.objects[key]
        pinned = headers.get("if-match", "").strip('"')
        if stale is None and pinned and pinned != version.etag:
            self.precondition_failures += 1
            return _send(writer, 412, {}, _error("PreconditionFailed"))
        first, last = _range(headers.get("range", ""), len(version.data))
        if self.spoil_start is not None and first != self.spoil_start:
            mode = "healthy"
        else:
            mode = self._take_mode()
        if mode != "healthy":
            self.spoiled += 1
        return self._body(writer, mode, version, first, last, headers.get("range") is not None)

    def _take_mode(self) -> str:
        if self.mode == "healthy" or self.faults == 0:
            return "healthy"
        if self.faults is not None:
            self.faults -= 1
        return self.mode

    def _body(self, writer: asyncio.StreamWriter, mode: str, version: Version, first: int,
              last: int, ranged: bool) -> bool:
        data, size, meta = version.data, len(version.data), _meta(version)
        if ranged and mode == "wrong_range":
            first, last = min(first + 1, size - 1), min(last + 1, size - 1)
        piece = data[first:last + 1]
        status = 200
        if ranged:
            total = size + 1 if mode == "wrong_total" else size
            if mode == "range_200_whole":
                return _send(writer, 200, meta, data)
            meta["content-range"] = f"bytes {first}-{last}/{total}"
            status = 200 if mode == "range_200_cr" else 206
        if mode == "partial_whole" and not ranged:  # half of it, honestly labelled
            last = max(size // 2 - 1, 0)
            meta["content-range"] = f"bytes 0-{last}/{size}"
            return _send(writer, 206, meta, data[:last + 1])
        if mode == "hold_half":
            self.held += 1
            self._holding.add(writer)
            meta["content-length"] = str(len(piece))
            return _send(writer, status, meta, piece[:len(piece) // 2], framing="raw")
        if mode.endswith("_short"):
            piece = piece[:len(piece) // 2]
        elif mode.endswith("_long"):
            piece += b"extra bytes"
        if mode == "chunked_and_length":  # both: a broken answer (RFC 9112, 6.3)
            meta["content-length"] = str(len(piece) + 5)
            return _send(writer, status, meta, piece, framing="chunked")
        if mode.startswith("chunked"):
            return _send(writer, status, meta, piece, framing="chunked")
        if mode.startswith("close"):
            return _send(writer, status, meta, piece, framing="close")
        return _send(writer, status, meta, piece)

    def _listing(self, params: dict[str, str]) -> bytes:
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        after = params.get("start-after", "")
        contents, commons = [], []
        for key in sorted(self.objects):
            if not key.startswith(prefix) or key <= after:
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[:cut + len(delimiter)]
                if common not in commons:
                    commons.append(common)
                continue
            version = self.listed_versions.get(key, self.objects[key])
            contents.append(
                f"<Contents><Key>{quote(key)}</Key><LastModified>{_ISO}</LastModified>"
                f"<ETag>&quot;{version.etag}&quot;</ETag>"
                f"<Size>{self.listed_sizes.get(key, len(version.data))}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>")
        prefixes = "".join(f"<CommonPrefixes><Prefix>{quote(p)}</Prefix></CommonPrefixes>"
                           for p in commons)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>{BUCKET}</Name><Prefix>{escape(quote(prefix))}</Prefix>"
            f"<KeyCount>{len(contents) + len(commons)}</KeyCount><MaxKeys>1000</MaxKeys>"
            "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
            f"{''.join(contents)}{prefixes}</ListBucketResult>"
        ).encode()


def _meta(version: Version) -> dict[str, str]:
    return {"etag": f'"{version.etag}"', "last-modified": _DATE,
            "content-type": "application/octet-stream", "accept-ranges": "bytes"}


def _range(header: str, size: int) -> tuple[int, int]:
    if not header.startswith("bytes="):
        return 0, size - 1
    first, _, last = header[len("bytes="):].partition("-")
    return int(first), min(int(last) if last else size - 1, size - 1)


def _error(code: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{code}</Message></Error>").encode()


_REASONS = {200: "OK", 206: "Partial Content", 404: "Not Found",
            412: "Precondition Failed"}


def _send(writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes,
          *, framing: str = "length", length: int | None = None) -> bool:
    """Write an answer framed as ``framing`` says; whether the connection stays open."""
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if framing == "chunked":
        lines.append("transfer-encoding: chunked")
        half = len(body) // 2
        payload = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n"
                           for c in (body[:half], body[half:]) if c) + b"0\r\n\r\n"
    elif framing == "raw":  # the caller's headers frame it (or lie about it)
        payload = body
    elif framing == "close":
        lines.append("connection: close")
        payload = body
    else:
        lines.append(f"content-length: {len(body) if length is None else length}")
        payload = body
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
    return framing != "close"
