"""Server-side copies through aiobotocore: HEAD of the source, CopyObject, the
CreateMultipartUpload of a multipart copy, UploadPartCopy.

botocore turns an ``<Error>`` sent with status 200 into an error of its own (its
``_handle_200_error``), which :func:`~._botocore.map_errors` translates: such a copy raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .._attributes import ObjectAttributes, SSECustomerKey
from .._errors import RequestError
from .._integrity import evidence
from .._models import ObjectInfo
from .copying import CopyAnswer, CopySource, SourceHead, checksum_in

__all__ = ["boto_attributes", "copy_object", "create_copy_upload", "head_source",
           "upload_part_copy"]

Call = Callable[[str, str | None, Awaitable[Any]], Awaitable[Any]]

_STORED = (("content_type", "ContentType"), ("cache_control", "CacheControl"),
           ("content_encoding", "ContentEncoding"),
           ("content_disposition", "ContentDisposition"),
           ("content_language", "ContentLanguage"), ("expires", "Expires"),
           ("storage_class", "StorageClass"), ("sse", "ServerSideEncryption"),
           ("sse_kms_key_id", "SSEKMSKeyId"), ("acl", "ACL"))


def boto_attributes(attributes: ObjectAttributes) -> dict[str, Any]:
    """``attributes`` as botocore's parameters of PutObject, CopyObject and
    CreateMultipartUpload."""
    kwargs: dict[str, Any] = {param: getattr(attributes, attr) for attr, param in _STORED
                              if getattr(attributes, attr) is not None}
    if attributes.metadata:
        kwargs["Metadata"] = dict(attributes.metadata)
    return kwargs


def _sse_c(key: SSECustomerKey | None, *, copy_source: bool = False) -> dict[str, Any]:
    if key is None:
        return {}
    prefix = "CopySource" if copy_source else ""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key.key}


def _source(source: CopySource) -> dict[str, Any]:
    where: dict[str, str] = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        where["VersionId"] = source.version_id
    kwargs: dict[str, Any] = {"CopySource": where, **_sse_c(source.sse_customer_key,
                                                            copy_source=True)}
    if source.if_match:
        kwargs["CopySourceIfMatch"] = f'"{source.if_match}"'
    return kwargs


def _answer(resp: Mapping[str, Any], result: str) -> tuple[str, CopyAnswer]:
    got = resp.get(result) or {}
    version = resp.get("VersionId")
    headers = {str(k).lower(): str(v) for k, v in
               resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).items()}
    return (str(got.get("ETag") or "").strip('"'),
            CopyAnswer(str(got.get("ETag") or "").strip('"'), checksum_in(got),
                       None if version in (None, "null") else str(version),
                       resp.get("CopySourceVersionId"), evidence(headers)))


async def head_source(client: Any, call: Call, bucket: str, key: str, version_id: str | None,
                      sse_customer_key: SSECustomerKey | None) -> SourceHead:
    """HEAD with ChecksumMode=ENABLED (and VersionId, the SSE-C key)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED",
                              **_sse_c(sse_customer_key)}
    if version_id:
        kwargs["VersionId"] = version_id
    resp = await call(bucket, key, client.head_object(**kwargs))
    headers = {str(k).lower(): str(v) for k, v in
               resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).items()}
    info = ObjectInfo(key=key, size=int(resp.get("ContentLength", 0)),
                      etag=str(resp.get("ETag") or "").strip('"'),
                      last_modified=resp.get("LastModified"),
                      storage_class=resp.get("StorageClass"))
    version = resp.get("VersionId")
    return SourceHead(info, headers, None if version in (None, "null") else str(version))


async def copy_object(client: Any, call: Call, bucket: str, key: str, source: CopySource,
                      attributes: ObjectAttributes | None, checksum_algorithm: str | None,
                      sse_customer_key: SSECustomerKey | None) -> CopyAnswer:
    """CopyObject with the directive COPY (``attributes`` None) or REPLACE."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, **_source(source),
                              **_sse_c(sse_customer_key)}
    if attributes is None:
        kwargs["MetadataDirective"] = "COPY"
    else:
        kwargs.update(MetadataDirective="REPLACE", **boto_attributes(attributes))
    if checksum_algorithm:
        kwargs["ChecksumAlgorithm"] = checksum_algorithm.upper()
    etag, answer = _answer(await call(bucket, key, client.copy_object(**kwargs)),
                           "CopyObjectResult")
    if not etag:
        raise RequestError(f"CopyObject of s3://{bucket}/{key} answered without an ETag",
                           bucket=bucket, key=key)
    return answer


async def create_copy_upload(client: Any, call: Call, bucket: str, key: str,
                             attributes: ObjectAttributes | None,
                             checksum_algorithm: str | None, checksum_type: str | None,
                             sse_customer_key: SSECustomerKey | None) -> str:
    """CreateMultipartUpload with the copy's attributes; returns the upload id."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, **_sse_c(sse_customer_key)}
    if attributes is not None:
        kwargs.update(boto_attributes(attributes))
    if checksum_algorithm:
        kwargs["ChecksumAlgorithm"] = checksum_algorithm.upper()
        if checksum_type:
            kwargs["ChecksumType"] = checksum_type
    resp = await call(bucket, key, client.create_multipart_upload(**kwargs))
    return str(resp["UploadId"])


async def upload_part_copy(client: Any, call: Call, bucket: str, key: str, upload_id: str,
                           part_number: int, source: CopySource, byte_range: tuple[int, int],
                           sse_customer_key: SSECustomerKey | None) -> CopyAnswer:
    """UploadPartCopy of the inclusive ``byte_range``; an answer without an ETag raises."""
    resp = await call(bucket, key, client.upload_part_copy(
        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number,
        CopySourceRange=f"bytes={byte_range[0]}-{byte_range[1]}", **_source(source),
        **_sse_c(sse_customer_key)))
    etag, answer = _answer(resp, "CopyPartResult")
    if not etag:
        raise RequestError(f"UploadPartCopy of s3://{bucket}/{key} answered without an ETag "
                           "(does the server do it?)", bucket=bucket, key=key)
    return answer
