"""S3 Inventory as the source listing of a run (``--inventory s3://.../manifest.json``).

An inventory is a manifest (JSON: ``sourceBucket``, ``destinationBucket``, ``fileFormat``,
``fileSchema``, ``creationTimestamp``, ``files[]`` each with ``key``, ``size`` and
``MD5checksum``) and gzipped CSV files, one row per object (the columns ``fileSchema``
names; ``Key`` URL-encoded with ``+`` for a space). Each file is fetched whole into a
temporary file, checked against its size and MD5 before a row of it is used (a corrupt
file stops the run: an error, exit 2, nothing acted on from it), then read a page of rows
per thread hop: memory stays that of a page, whatever the inventory's size.

Only the CSV format is read (ORC and Parquet: a one-line error). Rows of versioned
inventories that are not the latest version, or are delete markers, are left out.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import unquote_plus

import anyio

from .._errors import ConfigError, IntegrityError, ListingError
from .._models import ObjectInfo
from .._retry import RetryPolicy
from .._transport import Transport
from .._uri import S3URI

__all__ = ["InventoryFile", "InventoryManifest", "inventory_pages", "parse_manifest",
           "parse_rows", "read_manifest"]

_PAGE = 1000  # rows per page handed to the planner
_CHUNK = 1024 * 1024
_MAX_MANIFEST = 64 * 1024 * 1024  # a manifest names files; it is never this large
_REQUIRED = ("Key", "Size")


@dataclass(frozen=True, slots=True)
class InventoryFile:
    """One data file of an inventory: its key (in the manifest's files bucket), size and
    MD5 (hex)."""

    key: str
    size: int
    md5: str


@dataclass(frozen=True, slots=True)
class InventoryManifest:
    """A parsed ``manifest.json``."""

    source_bucket: str
    files_bucket: str
    columns: tuple[str, ...]
    files: tuple[InventoryFile, ...]
    created: datetime | None


def _bad(uri: S3URI, what: str) -> ConfigError:
    return ConfigError(f"the inventory manifest {uri} {what}")


def parse_manifest(data: bytes, uri: S3URI) -> InventoryManifest:
    """Parse and check the manifest at ``uri``.

    Raises:
        ConfigError: not JSON, a field missing or of the wrong type, a format other than
            CSV, or a schema without ``Key`` and ``Size``.
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(uri, f"is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _bad(uri, "is not a JSON object")
    source = doc.get("sourceBucket")
    fmt = doc.get("fileFormat")
    schema = doc.get("fileSchema")
    files = doc.get("files")
    if not isinstance(source, str) or not source:
        raise _bad(uri, "has no sourceBucket")
    if not isinstance(fmt, str):
        raise _bad(uri, "has no fileFormat")
    if fmt.upper() != "CSV":
        raise _bad(uri, f"is in the {fmt} format; only CSV inventories can be read")
    if not isinstance(schema, str):
        raise _bad(uri, "has no fileSchema")
    columns = tuple(name.strip() for name in schema.split(","))
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise _bad(uri, f"has no {' and '.join(missing)} column in its fileSchema")
    if not isinstance(files, list):
        raise _bad(uri, "has no files list")
    parsed: list[InventoryFile] = []
    for item in files:
        if not (isinstance(item, dict) and isinstance(item.get("key"), str)
                and isinstance(item.get("size"), int) and isinstance(item.get("MD5checksum"),
                                                                      str)):
            raise _bad(uri, f"names a file without key, size and MD5checksum: {item!r}")
        parsed.append(InventoryFile(item["key"], item["size"], item["MD5checksum"].lower()))
    destination = doc.get("destinationBucket")
    files_bucket = uri.bucket
    if isinstance(destination, str) and destination:
        files_bucket = destination.removeprefix("arn:aws:s3:::")
    return InventoryManifest(source, files_bucket, columns, tuple(parsed),
                             _created(doc.get("creationTimestamp")))


def _created(value: Any) -> datetime | None:
    """``creationTimestamp``: milliseconds since the epoch, as a string."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def parse_rows(lines: Iterator[list[str]], columns: tuple[str, ...], bucket: str,
               where: str) -> Iterator[ObjectInfo]:
    """The objects of CSV rows (already split): the latest versions, delete markers left
    out. ``where`` names the file in errors.

    Raises:
        ListingError: a row of the wrong width, of another bucket, or with a bad size.
    """
    index = {name: i for i, name in enumerate(columns)}
    width = len(columns)
    at_bucket, at_key, at_size = index.get("Bucket"), index["Key"], index["Size"]
    at_etag, at_modified = index.get("ETag"), index.get("LastModifiedDate")
    at_class, at_latest = index.get("StorageClass"), index.get("IsLatest")
    at_marker = index.get("IsDeleteMarker")
    for number, row in enumerate(lines, 1):
        if len(row) != width:
            raise ListingError(f"inventory file {where}, row {number}: {len(row)} columns, "
                               f"the schema has {width}", bucket=bucket)
        if at_bucket is not None and row[at_bucket] != bucket:
            raise ListingError(f"inventory file {where}, row {number}: bucket "
                               f"{row[at_bucket]!r}, not {bucket!r}", bucket=bucket)
        if at_latest is not None and row[at_latest].lower() == "false":
            continue
        if at_marker is not None and row[at_marker].lower() == "true":
            continue
        try:
            size = int(row[at_size])
        except ValueError:
            raise ListingError(f"inventory file {where}, row {number}: size "
                               f"{row[at_size]!r} is not a number", bucket=bucket) from None
        yield ObjectInfo(
            key=unquote_plus(row[at_key]), size=size,
            etag=row[at_etag].strip('"') if at_etag is not None else "",
            last_modified=_when(row[at_modified]) if at_modified is not None else None,
            storage_class=(row[at_class] or None) if at_class is not None else None)


async def _fetch(transport: Transport, bucket: str, key: str, retry: RetryPolicy,
                 out: IO[bytes], limit: int) -> str:
    """GET ``key`` into ``out`` (from its start, again on each retry): its MD5 (hex).

    Raises:
        IntegrityError: the object is larger than ``limit`` bytes.
    """

    async def once() -> str:
        out.seek(0)
        out.truncate()
        md5 = hashlib.md5(usedforsecurity=False)
        got = 0
        async with transport.get(bucket, key) as body:
            async for chunk in body.iter_chunks(_CHUNK):
                got += len(chunk)
                if got > limit:
                    raise IntegrityError(f"s3://{bucket}/{key} is larger than the "
                                         f"{limit} bytes expected")
                md5.update(chunk)
                await anyio.to_thread.run_sync(out.write, chunk)
        return md5.hexdigest()

    return await retry.run(once)


async def read_manifest(transport: Transport, uri: S3URI, retry: RetryPolicy
                        ) -> InventoryManifest:
    """Fetch and parse the manifest at ``uri``.

    Raises:
        ConfigError: as :func:`parse_manifest`.
        S3PumpError: the manifest cannot be fetched (NoSuchKeyError, ...).
    """
    buffer = io.BytesIO()
    await _fetch(transport, uri.bucket, uri.key, retry, buffer, _MAX_MANIFEST)
    return parse_manifest(buffer.getvalue(), uri)


def _rows(handle: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=handle), encoding="utf-8", newline="")
    return csv.reader(text)


def _take(objects: Iterator[ObjectInfo], keep: Callable[[ObjectInfo], bool]
          ) -> tuple[list[ObjectInfo], bool]:
    """The next page of kept objects; whether the file has more (blocking)."""
    page: list[ObjectInfo] = []
    for obj in objects:
        if keep(obj):
            page.append(obj)
            if len(page) == _PAGE:
                return page, True
    return page, False


@asynccontextmanager
async def inventory_pages(
    transport: Transport, manifest_uri: S3URI, source: S3URI, retry: RetryPolicy,
    seen: Callable[[InventoryManifest], None] | None = None,
) -> AsyncIterator[AsyncIterator[list[ObjectInfo]]]:
    """The objects below ``source`` that the inventory at ``manifest_uri`` lists, as
    pages (a run's source listing). ``seen`` hears of the manifest once it is read.

    Raises:
        ConfigError: a bad manifest, or one of another bucket than ``source``'s.
        IntegrityError: a data file whose size or MD5 is not the manifest's.
        ListingError: a row that cannot be read (see :func:`parse_rows`); a data file
            that is not gzip or not CSV.
    """
    manifest = await read_manifest(transport, manifest_uri, retry)
    if manifest.source_bucket != source.bucket:
        raise ConfigError(f"the inventory {manifest_uri} lists the bucket "
                          f"{manifest.source_bucket!r}, not the source's {source.bucket!r}")
    if seen is not None:
        seen(manifest)
    prefix = source.key

    def under(obj: ObjectInfo) -> bool:
        return obj.key.startswith(prefix)

    async def pages() -> AsyncIterator[list[ObjectInfo]]:
        for item in manifest.files:
            where = f"s3://{manifest.files_bucket}/{item.key}"
            with tempfile.TemporaryFile() as handle:
                md5 = await _fetch(transport, manifest.files_bucket, item.key, retry,
                                   handle, item.size)
                size = handle.tell()
                if size != item.size or md5 != item.md5:
                    raise IntegrityError(
                        f"inventory file {where} does not match its manifest (size {size}, "
                        f"MD5 {md5}; the manifest says {item.size}, {item.md5}): "
                        "nothing of it was used")
                handle.seek(0)
                objects = parse_rows(_rows(handle), manifest.columns, source.bucket, where)
                more = True
                while more:
                    try:
                        page, more = await anyio.to_thread.run_sync(_take, objects, under)
                    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
                        raise ListingError(f"inventory file {where} cannot be read as "
                                           f"gzipped CSV: {exc}",
                                           bucket=source.bucket) from None
                    if page:
                        yield page

    yield pages()
