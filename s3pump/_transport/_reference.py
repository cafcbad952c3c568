"""The reference transport: every operation through aiobotocore.

It owns the configuration and the credential chain; where requests go comes from
:func:`~._resolve.resolve`, as for the lean transport, and every call into aiobotocore runs
inside :func:`~._botocore.map_errors`, its one translation of errors. botocore's own retries
are off (one attempt): the engine retries every transport
the same way, and also retries failures while reading a body, which botocore does not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from .._attributes import ObjectAttributes, SSECustomerKey
from .._checksum import Checksum
from .._config import ClientConfig
from .._errors import NoSuchBucketError, RequestError, TransientError
from .._models import ObjectInfo
from . import _reference_copy as _copy
from . import versions_botocore
from ._base import CompletedPart, Data, ListPage, delete_batch
from ._botocore import map_errors
from ._reference_body import BotoBody, boto_answer, boto_evidence, strip_etag
from ._resolve import access_modes, resolve
from ._stall import ProgressGuard
from .copying import CopyAnswer, CopySource, SourceHead
from .objectheaders import BotoKeyParams, boto_attributes, check_key_endpoint, key_hint
from .parts import ListedPart, list_all_parts, parts_from_botocore

__all__ = ["ReferenceTransport"]

T = TypeVar("T")


def _skip_response_validation(params: dict[str, Any], **_: Any) -> None:
    """Keep botocore from hashing the bodies of GETs sent with ChecksumMode=ENABLED: the
    downloader checks them itself, on its own terms (and not twice)."""
    params.get("context", {}).get("checksum", {}).pop("response_algorithms", None)


def _md5_not_crc(params: dict[str, Any], **_: Any) -> None:
    """DeleteObjects requires a checksum: send Content-MD5 (as the lean transport does, and
    as every S3 store takes), never botocore's default ``x-amz-checksum-crc32``, which stores
    that refuse checksum headers (R2, older MinIO) answer with 400."""
    checksum = params.get("context", {}).get("checksum")
    body = params.get("body")
    if checksum is None or not isinstance(body, bytes):
        return
    checksum.pop("request_algorithm", None)
    checksum.pop("request_algorithm_header", None)
    params["headers"]["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()


class _RequestPayer:
    """A ``before-sign`` handler adding ``x-amz-request-payer`` to every request."""

    def __init__(self, payer: str) -> None:
        self._payer = payer

    def __call__(self, request: Any, **_: Any) -> None:
        request.headers["x-amz-request-payer"] = self._payer


def _object_info(item: Mapping[str, Any]) -> ObjectInfo:
    algorithms = item.get("ChecksumAlgorithm") or []
    return ObjectInfo(
        key=item["Key"],
        size=int(item.get("Size", 0)),
        etag=strip_etag(item.get("ETag")),
        last_modified=item.get("LastModified"),
        storage_class=item.get("StorageClass"),
        checksum_algorithm=algorithms[0] if algorithms else None,
    )


class ReferenceTransport:
    """aiobotocore behind the transport seam. Use :meth:`open` to build one."""

    def __init__(
        self, client: Any, stack: AsyncExitStack, *, min_body_rate: float = 0.0,
        connect_timeout: float = 10.0, read_timeout: float = 60.0,
    ) -> None:
        self._client = client
        self._stack = stack
        self._stall = (min_body_rate, read_timeout)  # a body's minimum rate, its window
        self._answer_within = connect_timeout + read_timeout
        self.requests = 0

    @classmethod
    async def open(cls, config: ClientConfig, max_connections: int) -> ReferenceTransport:
        """Create the aiobotocore client for ``config``.

        Endpoint, region, addressing style, proxy and CA bundle come from
        :func:`~s3pump._transport._resolve.resolve` (the lean transport's answers), and are
        handed to botocore explicitly, with its own lookup of configured endpoints turned
        off: both transports send requests to the same place. botocore chooses the endpoint
        only when none is configured (AWS's own, including FIPS and dual-stack variants).
        """
        settings = resolve(config)
        logging.getLogger("s3pump").info("reference transport: %s%s", settings.describe(),
                                         access_modes(config))
        proxies: dict[str, str] | None = None
        if settings.endpoint_url is not None:
            scheme = settings.endpoint_url.partition(":")[0]
            proxies = {scheme: settings.proxy} if settings.proxy else {}
        with map_errors(None, None):
            session = AioSession(profile=config.profile)
            boto_config = AioConfig(
                s3={"addressing_style": settings.addressing_style},
                retries={"total_max_attempts": 1},
                max_pool_connections=max_connections,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                ignore_configured_endpoint_urls=True,
                proxies=proxies,
            )
            if not config.sign_requests:  # no credential chain: nothing looked up
                from botocore import UNSIGNED

                boto_config = boto_config.merge(AioConfig(signature_version=UNSIGNED))
            stack = AsyncExitStack()
            client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    endpoint_url=settings.endpoint_url if settings.configured_endpoint else None,
                    region_name=settings.region,
                    verify=settings.verify,
                    config=boto_config,
                )
            )
            client.meta.events.register("before-call.s3.GetObject", _skip_response_validation)
            client.meta.events.register("before-call.s3.DeleteObjects", _md5_not_crc)
            if config.request_payer:
                # Before signing, on every operation: the header is signed with the rest.
                client.meta.events.register("before-sign.s3", _RequestPayer(config.request_payer))
        return cls(client, stack, min_body_rate=config.min_body_rate,
                   connect_timeout=config.connect_timeout, read_timeout=config.read_timeout)

    async def _within(self, call: Awaitable[T]) -> T:
        """``await call``, a request whose answer (the head, for a GET; the whole small
        answer, for HEAD and listings) must come within the connect and read timeouts:
        botocore bounds each read, so a head sent a byte at a time would never time out."""
        try:
            async with asyncio.timeout(self._answer_within):
                return await call
        except TimeoutError as exc:
            if str(exc):
                raise
            raise TimeoutError(f"timed out: no answer within {self._answer_within:g}s"
                               ) from exc

    async def _call(self, bucket: str, key: str | None, call: Awaitable[T], *,
                    bounded: bool = False) -> T:
        """``await call``, one request (counted), its errors translated; ``bounded``: its
        answer must come within the timeouts (:meth:`_within`)."""
        self.requests += 1
        try:
            with map_errors(bucket, key):
                return await (self._within(call) if bounded else call)
        except RequestError as exc:  # in SSE-C's words where the key may be the cause
            hook: BotoKeyParams | None = getattr(self, "_key_params", None)
            raise key_hint(exc, hook is not None and hook.key is not None) from exc.__cause__

    async def aclose(self) -> None:
        await self._stack.aclose()

    async def list_page(
        self,
        bucket: str,
        prefix: str,
        *,
        token: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if token:
            kwargs["ContinuationToken"] = token
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if start_after:
            kwargs["StartAfter"] = start_after
        resp = await self._call(bucket, None, self._client.list_objects_v2(**kwargs),
                                bounded=True)
        truncated = bool(resp.get("IsTruncated"))
        return ListPage(
            objects=[_object_info(item) for item in resp.get("Contents", ())],
            prefixes=[p["Prefix"] for p in resp.get("CommonPrefixes", ())],
            next_token=(resp.get("NextContinuationToken") or None) if truncated else None,
            truncated=truncated,
        )

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        return (await self._head(bucket, key, {}))[0]

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, dict[str, str]]:
        """HEAD with ChecksumMode=ENABLED: the object and its checksum evidence."""
        return await self._head(bucket, key, {"ChecksumMode": "ENABLED"})

    async def head_part(
        self, bucket: str, key: str, part_number: int
    ) -> tuple[int, int | None]:
        """HEAD with ``PartNumber``: the part's size and the upload's part count."""
        resp = await self._call(bucket, key, self._client.head_object(
            Bucket=bucket, Key=key, PartNumber=part_number))
        count = resp.get("PartsCount")
        return int(resp.get("ContentLength", -1)), int(count) if count is not None else None

    async def _head(
        self, bucket: str, key: str, extra: dict[str, str]
    ) -> tuple[ObjectInfo, dict[str, str]]:
        resp = await self._call(bucket, key, self._client.head_object(
            Bucket=bucket, Key=key, **extra), bounded=True)
        info = ObjectInfo(
            key=key,
            size=int(resp.get("ContentLength", 0)),
            etag=strip_etag(resp.get("ETag")),
            last_modified=resp.get("LastModified"),
            storage_class=resp.get("StorageClass"),
        )
        return info, boto_evidence(resp) if extra else {}

    @asynccontextmanager
    async def get(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int] | None = None,
        if_match: str | None = None,
    ) -> AsyncIterator[BotoBody]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if byte_range is not None:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        else:
            kwargs["ChecksumMode"] = "ENABLED"
        if if_match:
            kwargs["IfMatch"] = f'"{if_match}"'
        resp = await self._call(bucket, key, self._client.get_object(**kwargs), bounded=True)
        try:
            body = boto_answer(resp, bucket, key, byte_range, if_match, ProgressGuard(*self._stall))
            yield body
        finally:
            resp["Body"].close()

    # -- uploads ----------------------------------------------------------------------------

    @staticmethod
    def _checksum_args(checksum: Checksum | None) -> dict[str, str]:
        # The algorithm too: it becomes x-amz-sdk-checksum-algorithm, which some servers
        # (moto) need to store the value; botocore sends the given value, computing none.
        if checksum is None:
            return {}
        return {"ChecksumAlgorithm": checksum.algorithm, checksum.field: checksum.value}

    @staticmethod
    def _headers(resp: Mapping[str, Any]) -> dict[str, str]:
        headers = {str(k).lower(): str(v) for k, v in
                   resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).items()}
        headers["etag"] = strip_etag(resp.get("ETag") or headers.get("etag"))
        return headers

    async def put_object(
        self, bucket: str, key: str, data: Data, *, checksum: Checksum | None = None,
        content_type: str | None = None, attributes: ObjectAttributes | None = None,
    ) -> dict[str, str]:
        """PutObject; returns the response headers (lower-case names, ``etag`` unquoted)."""
        resp = await self._call(bucket, key, self._client.put_object(
            Bucket=bucket, Key=key, Body=bytes(data) if isinstance(data, memoryview) else data,
            **self._checksum_args(checksum), **boto_attributes(attributes, content_type),
        ))
        return self._headers(resp)

    async def create_multipart_upload(
        self, bucket: str, key: str, *, checksum_algorithm: str | None = None,
        checksum_type: str | None = None, content_type: str | None = None,
        attributes: ObjectAttributes | None = None,
    ) -> str:
        """CreateMultipartUpload declaring the checksum algorithm and type and the object's
        attributes; returns the upload id."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key,
                                  **boto_attributes(attributes, content_type)}
        if checksum_algorithm:
            kwargs["ChecksumAlgorithm"] = checksum_algorithm
            if checksum_type:
                kwargs["ChecksumType"] = checksum_type
        resp = await self._call(bucket, key, self._client.create_multipart_upload(**kwargs))
        return str(resp["UploadId"])

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Data,
        *,
        checksum: Checksum | None = None,
    ) -> dict[str, str]:
        """UploadPart; returns the response headers as :meth:`put_object` does."""
        resp = await self._call(bucket, key, self._client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number,
            Body=bytes(data) if isinstance(data, memoryview) else data,
            **self._checksum_args(checksum),
        ))
        return self._headers(resp)

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart], *,
        checksum: Checksum | None = None,
    ) -> str:
        """CompleteMultipartUpload; returns the object's ETag (unquoted). ``checksum`` is
        the whole object's (a ``FULL_OBJECT`` upload), for S3 to check."""
        listed: list[dict[str, Any]] = []
        for part in parts:
            entry: dict[str, Any] = {"PartNumber": part.number, "ETag": f'"{part.etag}"'}
            if part.checksum is not None:
                entry[part.checksum.field] = part.checksum.value
            listed.append(entry)
        extra: dict[str, str] = {}
        if checksum is not None:
            extra = {checksum.field: checksum.value, "ChecksumType": "FULL_OBJECT"}
        resp = await self._call(bucket, key, self._client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed},
            **extra,
        ))
        return strip_etag(resp.get("ETag"))

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload already gone is not an error."""
        try:
            await self._call(bucket, key, self._client.abort_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id))
        except RequestError as exc:
            if exc.code != "NoSuchUpload":
                raise

    # -- deletes ----------------------------------------------------------------------------

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects (quiet) of up to 1,000 keys; returns the keys not deleted with
        ``"Code: Message"``. Keys XML 1.0 cannot carry go by DeleteObject."""
        in_xml, one_by_one = delete_batch(keys)
        failed: list[tuple[str, str]] = []
        if in_xml:
            resp = await self._call(bucket, None, self._client.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in in_xml], "Quiet": True},
            ))
            failed += [(e.get("Key", ""), f"{e.get('Code')}: {e.get('Message')}")
                       for e in resp.get("Errors", ())]
        for key in one_by_one:
            try:
                await self._call(bucket, key, self._client.delete_object(Bucket=bucket, Key=key))
            except RequestError as error:
                if isinstance(error, TransientError | NoSuchBucketError):
                    raise
                failed.append((key, f"{error.code or error.status}: {error}"))
        return failed

    # -- S3 to S3 (issue 14): see ._reference_copy ------------------------------------------

    async def head_source(self, bucket: str, key: str, *, version_id: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> SourceHead:
        """HEAD of a copy's source, with its checksums and every header."""
        return await _copy.head_source(self._client, self._call, bucket, key, version_id,
                                       sse_customer_key)

    async def copy_object(self, bucket: str, key: str, source: CopySource, *,
                          attributes: ObjectAttributes | None = None,
                          checksum_algorithm: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """CopyObject; a 200 answer carrying an error raises."""
        return await _copy.copy_object(self._client, self._call, bucket, key, source,
                                       attributes, checksum_algorithm, sse_customer_key)

    async def create_copy_upload(self, bucket: str, key: str, *,
                                 attributes: ObjectAttributes | None = None,
                                 checksum_algorithm: str | None = None,
                                 checksum_type: str | None = None,
                                 sse_customer_key: SSECustomerKey | None = None) -> str:
        """CreateMultipartUpload of a multipart copy; returns the upload id."""
        return await _copy.create_copy_upload(self._client, self._call, bucket, key,
                                              attributes, checksum_algorithm, checksum_type,
                                              sse_customer_key)

    async def upload_part_copy(self, bucket: str, key: str, upload_id: str, part_number: int,
                               source: CopySource, byte_range: tuple[int, int], *,
                               sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """UploadPartCopy; a 200 answer carrying an error, or no ETag, raises."""
        return await _copy.upload_part_copy(self._client, self._call, bucket, key, upload_id,
                                            part_number, source, byte_range, sse_customer_key)

    # -- verbs and versions (issue 14) ---------------------------------------------------

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL (see :meth:`Transport.presign`) with botocore's credentials,
        signed by our signer."""
        from .presign_botocore import botocore_presign

        return await botocore_presign(self._client, method, bucket, key, expires_in, params)

    # The versioned operations (see the Transport protocol) are versions_botocore's.
    head_version = versions_botocore.head_version
    head_part_version = versions_botocore.head_part_version
    get_version = versions_botocore.get_version
    list_versions_page = versions_botocore.list_versions_page

    def _body(self, response: Mapping[str, Any], bucket: str, key: str,
              byte_range: tuple[int, int] | None, if_match: str | None) -> BotoBody:
        return boto_answer(response, bucket, key, byte_range, if_match,
                           ProgressGuard(*self._stall))

    # -- attrs (issue 14) -------------------------------------------------------------------

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """See :meth:`Transport.use_sse_customer_key` (botocore adds the parameters)."""
        check_key_endpoint(str(self._client.meta.endpoint_url), key)
        hook: BotoKeyParams | None = getattr(self, "_key_params", None)
        if hook is None:
            hook = self._key_params = BotoKeyParams()
            hook.register(self._client.meta.events)
        hook.key = key

    # -- resumable uploads (issue 14)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts through botocore, every page; a gone upload raises NotFoundError."""

        async def page(marker: int) -> tuple[list[ListedPart], int | None]:
            return parts_from_botocore(await self._call(bucket, key, self._client.list_parts(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)))

        return await list_all_parts(page, bucket, key)
