"""The pure parts of HTTP/1.1 that both of our clients share: the answer's head, a
Content-Length, a ``host:port``, an HTTP date, an ETag's quotes. No I/O here, and no
asyncio: the one-object fast path (:mod:`s3pump._quick`) parses with these before any event
loop exists."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["USER_AGENT", "ProtocolError", "content_length", "http_date", "parse_head",
           "request_head", "split_host", "strip_etag"]

USER_AGENT = "s3pump-lean/0.1"

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class ProtocolError(ConnectionError):
    """The server's answer is not HTTP/1.1 we understand (or it ended mid-way)."""


def request_head(method: str, target: str, user_agent: str, headers: dict[str, str],
                 *, close: bool = False) -> bytes:
    """The bytes of a bodiless request: its line, ``User-Agent``, ``headers`` in order (and
    ``Connection: close`` when ``close``), then the blank line."""
    lines = [f"{method} {target} HTTP/1.1\r\nUser-Agent: {user_agent}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    lines.append("Connection: close\r\n\r\n" if close else "\r\n")
    return "".join(lines).encode("latin-1")


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and headers of an answer's head (without its blank line); header names
    lower-cased, repeated headers joined with ``", "``. Raises :class:`ProtocolError`."""
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
    try:
        status = int(status_line[1])
    except ValueError:
        raise ProtocolError(f"bad status line: {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:  # (no white space may precede the colon: RFC 9112, 5.1)
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return status, headers


def content_length(value: str) -> int:
    """A Content-Length: digits only (no sign, no list of values)."""
    if not value.isdigit() or not value.isascii():
        raise ProtocolError(f"bad Content-Length {value[:40]!r}")
    return int(value)


def split_host(host: str, default_port: int) -> tuple[str, int]:
    """``(name, port)`` of a Host header value (``[v6]:port`` too)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") else default_port
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, default_port


def strip_etag(etag: str | None) -> str:
    """An ETag without its quotes (``""`` for none)."""
    return (etag or "").strip('"')


def http_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``)."""
    if not value:
        return None
    try:
        _, day, month, year, hms, _ = value.split(" ")
        hour, minute, second = hms.split(":")
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute),
                        int(second), tzinfo=UTC)
    except (ValueError, KeyError):
        pass
    from email.utils import parsedate_to_datetime  # rare: 3 ms of imports saved at start-up

    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
