"""Server-side copies on the lean path: HEAD of the source, CopyObject, the
CreateMultipartUpload of a multipart copy, and UploadPartCopy, signed by our SigV4 signer.

Each PUT carries ``x-amz-copy-source`` URL-encoded (:func:`..copying.copy_source_value`); the
answer is an XML document that may be an ``<Error>`` even with status 200, which raises
(:func:`.wire.parse_answer`): a copy is never taken for done on the status alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..._attributes import ObjectAttributes, SSECustomerKey
from ..._errors import RequestError, error_from_response
from ..._integrity import evidence
from ..._models import ObjectInfo
from ..copying import (
    CopyAnswer,
    CopySource,
    SourceHead,
    checksum_in,
    copy_headers,
    destination_headers,
)
from .client import LeanClient
from .sigv4 import canonical_query
from .wire import child_text, http_date, parse_answer, strip_etag

__all__ = ["copy_object", "create_copy_upload", "head_source", "upload_part_copy"]

_CHECKSUM_ELEMENTS = ("ChecksumCRC64NVME", "ChecksumCRC32C", "ChecksumCRC32", "ChecksumSHA256",
                      "ChecksumSHA1")


async def head_source(client: LeanClient, bucket: str, key: str, version_id: str | None,
                      sse_customer_key: SSECustomerKey | None) -> SourceHead:
    """HEAD with ``x-amz-checksum-mode: ENABLED`` (and ``versionId``, the SSE-C key)."""
    headers = {"x-amz-checksum-mode": "ENABLED"}
    if sse_customer_key is not None:
        headers.update(sse_customer_key.headers())
    query = canonical_query({"versionId": version_id}) if version_id else ""
    resp = await client.exchange("HEAD", bucket, key, query=query, headers=headers)
    try:
        if resp.status != 200:
            raise error_from_response(resp.status, None, None, bucket=bucket, key=key)
        got = {name.lower(): value for name, value in resp.headers.items()}
    finally:
        resp.release()
    info = ObjectInfo(key=key, size=int(got.get("content-length", 0)),
                      etag=strip_etag(got.get("etag")),
                      last_modified=http_date(got.get("last-modified")),
                      storage_class=got.get("x-amz-storage-class"))
    version = got.get("x-amz-version-id")
    return SourceHead(info, got, None if version in (None, "null") else version)


async def _copy_put(client: LeanClient, bucket: str, key: str, query: str,
                    headers: Mapping[str, str], what: str) -> CopyAnswer:
    # Bodiless: through the lean HTTP/1.1 client, as GETs are (no aiohttp to load and drive
    # per copy); the empty body is stated, since S3 answers 411 to a PUT without a length.
    resp = await client.exchange("PUT", bucket, key, query=query,
                                 headers={**headers, "content-length": "0"})
    if resp.status != 200:
        raise await client.fail(resp, bucket, key)
    got = {name.lower(): value for name, value in resp.headers.items()}
    body = await client.read_answer(resp, bucket, key)
    if not body.strip():  # a server that took it for an empty upload (rclone): no copy
        raise RequestError(f"{what} of s3://{bucket}/{key} answered without an ETag "
                           "(does the server do it?)", bucket=bucket, key=key)
    root = parse_answer(body, bucket, key)
    etag = strip_etag(child_text(root, "ETag"))
    if not etag:
        raise RequestError(f"{what} of s3://{bucket}/{key} answered without an ETag "
                           "(does the server do it?)", bucket=bucket, key=key)
    values = {name: child_text(root, name) for name in _CHECKSUM_ELEMENTS}
    version = got.get("x-amz-version-id")
    return CopyAnswer(etag, checksum_in(values),
                      None if version in (None, "null") else version,
                      got.get("x-amz-copy-source-version-id"), evidence(got))


async def copy_object(client: LeanClient, bucket: str, key: str, source: CopySource,
                      attributes: ObjectAttributes | None, checksum_algorithm: str | None,
                      sse_customer_key: SSECustomerKey | None) -> CopyAnswer:
    """CopyObject: one PUT with the copy headers, its XML answer checked."""
    headers = {**copy_headers(source),
               **destination_headers(attributes, checksum_algorithm=checksum_algorithm,
                                     sse_customer_key=sse_customer_key)}
    return await _copy_put(client, bucket, key, "", headers, "CopyObject")


async def create_copy_upload(client: LeanClient, bucket: str, key: str,
                             attributes: ObjectAttributes | None,
                             checksum_algorithm: str | None, checksum_type: str | None,
                             sse_customer_key: SSECustomerKey | None) -> str:
    """CreateMultipartUpload with the copy's attributes; returns the upload id."""
    headers = destination_headers(attributes, checksum_algorithm=checksum_algorithm,
                                  sse_customer_key=sse_customer_key, directive=False)
    if checksum_algorithm and checksum_type:
        headers["x-amz-checksum-type"] = checksum_type
    resp = await client.send("POST", bucket, key, query="uploads=", headers=headers or None)
    if resp.status != 200:
        raise await client.fail(resp, bucket, key)
    root = parse_answer(await client.read_answer(resp, bucket, key), bucket, key)
    upload_id = child_text(root, "UploadId")
    if not upload_id:
        raise RequestError(f"no UploadId in the answer for s3://{bucket}/{key}",
                           bucket=bucket, key=key)
    return upload_id


async def upload_part_copy(client: LeanClient, bucket: str, key: str, upload_id: str,
                           part_number: int, source: CopySource, byte_range: tuple[int, int],
                           sse_customer_key: SSECustomerKey | None) -> CopyAnswer:
    """UploadPartCopy of ``byte_range`` of ``source``: one PUT, its XML answer checked."""
    headers = copy_headers(source, byte_range=byte_range)
    if sse_customer_key is not None:
        headers.update(sse_customer_key.headers())
    query = canonical_query({"partNumber": str(part_number), "uploadId": upload_id})
    return await _copy_put(client, bucket, key, query, headers, "UploadPartCopy")
