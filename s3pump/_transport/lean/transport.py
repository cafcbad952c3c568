"""The lean data-plane transport: requests signed by our SigV4 signer, sent through our own
HTTP/1.1 client and aiohttp.

Where requests go (endpoint, region, addressing, proxy, CA bundle) comes from
:func:`~s3pump._transport._resolve.resolve`, the resolution both transports share; aiobotocore
finds the credentials only when the environment and the shared files do not decide them
(SSO, assume-role, web identity, ``credential_process``, containers, IMDS). The hot operations
(ListObjectsV2, HEAD, GET, ranged GET, PUT, UploadPart) skip botocore's event system, endpoint
rulesets and response parsing, and cost a fraction of the CPU (see DESIGN.md, §1).

Configurations it does not serve raise :class:`LeanUnsupportedError` from :meth:`LeanTransport.open`
(anonymous access, FIPS/dual-stack/accelerate endpoints): the caller then opens the reference
transport instead. Buckets it does not serve (access point ARNs, S3 Express directory buckets)
are reported by :meth:`LeanTransport.supports_bucket`.

This module holds the S3 operations; :mod:`.client` signs and sends, :mod:`.body` reads GET
bodies, :mod:`.wire` parses and writes S3's documents, :mod:`.errors` translates failures.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from ..._attributes import ObjectAttributes, SSECustomerKey
from ..._checksum import Checksum
from ..._config import ClientConfig
from ..._errors import NoSuchBucketError, RequestError, TransientError, error_from_response
from ..._integrity import evidence
from ..._models import ObjectInfo
from .._base import CompletedPart, Data, ListPage, delete_batch
from ..copying import CopyAnswer, CopySource, SourceHead
from ..objectheaders import attribute_headers
from ..parts import ListedPart
from . import copy, versions
from .client import LeanClient, ssl_context
from .credentials import CredentialSource, StaticCredentials, chain_credentials
from .errors import LeanUnsupportedError
from .get import GetContext
from .listparts import list_parts
from .sigv4 import canonical_query
from .splice import Splicing
from .wire import (
    child_text,
    complete_multipart_body,
    complete_multipart_headers,
    delete_body,
    delete_failures,
    http_date,
    parse_answer,
    parse_list,
    strip_etag,
)

__all__ = ["LeanTransport"]


class LeanTransport:
    """S3 through our own signer and HTTP/1.1 client (and aiohttp for bodies). Use
    :meth:`open` to build one.

    ``requests`` counts HTTP requests sent. Besides the protocol's arguments,
    :meth:`put_object` and :meth:`upload_part` take extra request ``headers``.

    Payload signing: bodies are signed with their SHA-256 (as botocore does) unless the
    endpoint is HTTPS *and* the request carries a checksum header (``Content-MD5`` or
    ``x-amz-checksum-*``); then ``UNSIGNED-PAYLOAD`` is sent. TLS already protects the bytes
    in flight and S3 verifies the checksum, so hashing every uploaded byte a second time
    would buy nothing; over plain HTTP the signature is the only integrity check there is.
    """

    def __init__(self, client: LeanClient, region: str) -> None:
        self._client = client
        self.region = region

    @property
    def requests(self) -> int:
        """HTTP requests sent so far."""
        return self._client.requests

    @property
    def spliced(self) -> Splicing:
        """Bodies spliced straight into files so far, and their bytes (see :mod:`.splice`):
        how tests and benchmarks see that the zero-copy path is the one taken."""
        return self._client.splicing

    @classmethod
    async def open(
        cls,
        config: ClientConfig,
        max_connections: int,
        *,
        sign_payload: bool | None = None,
    ) -> LeanTransport:
        """Resolve ``config`` (see :func:`~s3pump._transport._resolve.resolve`), find the
        credentials, and open a connection pool.

        ``sign_payload`` forces payload signing on or off (default: see the class docstring).
        Raises :class:`LeanUnsupportedError` when the lean path cannot serve ``config``
        (fall back to the reference transport then), or the usual errors of the chain.
        """
        from .._resolve import access_modes, resolve

        settings = resolve(config)
        logging.getLogger("s3pump").info("lean transport: %s%s", settings.describe(),
                                         access_modes(config))
        if settings.lean_unsupported is not None or settings.endpoint_url is None:
            raise LeanUnsupportedError(settings.lean_unsupported or "no endpoint")
        credentials: CredentialSource | None = None
        if config.sign_requests:  # unsigned: no credential lookup at all (no IMDS probe)
            source: Any
            if settings.credentials is not None:
                source = StaticCredentials(settings.credentials)
            else:
                source = await chain_credentials(config.profile)
            if source is None:
                raise LeanUnsupportedError("no credentials: anonymous access needs the "
                                           "reference transport")
            credentials = CredentialSource(source)
            await credentials.get()  # fail here, not on the first request
        context: ssl.SSLContext | bool = True
        if isinstance(settings.verify, str) and settings.endpoint_url.startswith("https:"):
            context = ssl_context(settings.verify)  # ~50 ms: TLS only
        client = LeanClient(
            credentials,
            region=settings.region,
            endpoint=settings.endpoint_url,
            aws=not settings.configured_endpoint,
            addressing_style=settings.addressing_style,
            proxy=settings.proxy,
            sign_payload=sign_payload,
            ssl_context=context,
            max_connections=max_connections,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            min_body_rate=config.min_body_rate,
            request_payer=config.request_payer,
        )
        return cls(client, settings.region)

    @staticmethod
    def supports_bucket(bucket: str) -> bool:
        """Whether requests to ``bucket`` can go through the lean path: not for access point
        or Outposts ARNs, nor S3 Express directory buckets (they need session auth)."""
        return not bucket.startswith("arn:") and not bucket.endswith("--x-s3")

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self._client.aclose()

    # -- the transport protocol -------------------------------------------------------------

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
        """One page of ListObjectsV2 (keys URL-encoded on the wire, decoded here)."""
        params = {"list-type": "2", "encoding-type": "url", "prefix": prefix,
                  "max-keys": str(max_keys)}
        if token:
            params["continuation-token"] = token
        if delimiter:
            params["delimiter"] = delimiter
        if start_after:
            params["start-after"] = start_after
        client = self._client
        resp = await client.exchange("GET", bucket, None, query=canonical_query(params))
        if resp.status != 200:
            raise await client.fail(resp, bucket, None)
        body = await client.read_answer(resp, bucket, None)
        try:
            return parse_list(body)
        except (ET.ParseError, ValueError) as exc:
            raise TransientError(f"unreadable listing of s3://{bucket}/{prefix}: {exc}",
                                 bucket=bucket) from exc

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """HEAD an object; raises NoSuchKeyError when it is absent."""
        return (await self._head(bucket, key, None))[0]

    async def head_evidence(self, bucket: str, key: str) -> tuple[ObjectInfo, dict[str, str]]:
        """HEAD with ``x-amz-checksum-mode: ENABLED``: the object and its checksum evidence."""
        return await self._head(bucket, key, {"x-amz-checksum-mode": "ENABLED"})

    async def head_part(
        self, bucket: str, key: str, part_number: int
    ) -> tuple[int, int | None]:
        """HEAD with ``partNumber``: the part's size and the upload's part count."""
        resp = await self._client.exchange("HEAD", bucket, key,
                                           query=f"partNumber={part_number}")
        try:
            if resp.status not in (200, 206):
                raise error_from_response(resp.status, None, None, bucket=bucket, key=key)
            count = resp.headers.get("x-amz-mp-parts-count", "")
            return (int(resp.headers.get("content-length", -1)),
                    int(count) if count.isdigit() else None)
        finally:
            resp.release()

    async def _head(
        self, bucket: str, key: str, headers: dict[str, str] | None
    ) -> tuple[ObjectInfo, dict[str, str]]:
        resp = await self._client.exchange("HEAD", bucket, key, headers=headers)
        try:
            if resp.status != 200:
                raise self._client.explain(
                    error_from_response(resp.status, None, None, bucket=bucket, key=key))
            got = resp.headers
            info = ObjectInfo(
                key=key,
                size=int(got.get("content-length", 0)),
                etag=strip_etag(got.get("etag")),
                last_modified=http_date(got.get("last-modified")),
                storage_class=got.get("x-amz-storage-class"),
            )
            return info, evidence(got) if headers else {}
        finally:
            resp.release()

    def get(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: tuple[int, int] | None = None,
        if_match: str | None = None,
    ) -> GetContext:
        """GET an object, or the inclusive ``byte_range`` of it, pinned to ``if_match``.

        Whole-object GETs ask for the stored checksums (``x-amz-checksum-mode: ENABLED``)."""
        return GetContext(self._client, bucket, key, byte_range, if_match)

    # -- uploads ----------------------------------------------------------------------------

    async def _put(
        self,
        bucket: str,
        key: str,
        data: bytes | bytearray | memoryview,
        query: str,
        headers: Mapping[str, str] | None,
    ) -> dict[str, str]:
        client = self._client
        resp = await client.send("PUT", bucket, key, query=query, headers=headers, data=data)
        if resp.status != 200:
            raise await client.fail(resp, bucket, key)
        await client.read_answer(resp, bucket, key)
        result = {name.lower(): value for name, value in resp.headers.items()}
        if "etag" in result:
            result["etag"] = strip_etag(result["etag"])
        return result

    @staticmethod
    def _with_checksum(
        headers: Mapping[str, str] | None, checksum: Checksum | None
    ) -> Mapping[str, str] | None:
        if checksum is None:
            return headers
        # x-amz-sdk-checksum-algorithm as botocore sends it: some servers (moto) store the
        # value only when it is present; S3 accepts it.
        return {**(headers or {}), checksum.header: checksum.value,
                "x-amz-sdk-checksum-algorithm": checksum.algorithm}

    async def put_object(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        checksum: Checksum | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        attributes: ObjectAttributes | None = None,
    ) -> dict[str, str]:
        """PutObject. ``checksum``, ``attributes``, ``content_type`` and ``headers`` are
        sent and signed. Returns the response headers, names lower-cased, ``etag`` unquoted."""
        if content_type or attributes is not None:
            headers = {**(headers or {}), **attribute_headers(attributes, content_type)}
        return await self._put(bucket, key, data, "", self._with_checksum(headers, checksum))

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Data,
        *,
        checksum: Checksum | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """UploadPart of a multipart upload; returns as :meth:`put_object`."""
        query = canonical_query({"partNumber": str(part_number), "uploadId": upload_id})
        return await self._put(bucket, key, data, query, self._with_checksum(headers, checksum))

    async def _post_xml(
        self,
        bucket: str,
        key: str | None,
        query: str,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> ET.Element:
        """POST and parse the XML answer; an ``<Error>`` sent with 200 raises too."""
        client = self._client
        resp = await client.send("POST", bucket, key, query=query, headers=headers, data=data)
        if resp.status != 200:
            raise await client.fail(resp, bucket, key)
        return parse_answer(await client.read_answer(resp, bucket, key), bucket, key)

    async def create_multipart_upload(
        self, bucket: str, key: str, *, checksum_algorithm: str | None = None,
        checksum_type: str | None = None, content_type: str | None = None,
        attributes: ObjectAttributes | None = None,
    ) -> str:
        """CreateMultipartUpload declaring the checksum algorithm and type (``FULL_OBJECT``
        or ``COMPOSITE``) and the object's attributes; returns the upload id."""
        headers = attribute_headers(attributes, content_type)
        if checksum_algorithm:
            headers["x-amz-checksum-algorithm"] = checksum_algorithm
            if checksum_type:
                headers["x-amz-checksum-type"] = checksum_type
        root = await self._post_xml(bucket, key, "uploads=", headers or None)
        upload_id = child_text(root, "UploadId")
        if not upload_id:
            raise RequestError(f"no UploadId in the answer for s3://{bucket}/{key}",
                               bucket=bucket, key=key)
        return upload_id

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart], *,
        checksum: Checksum | None = None,
    ) -> str:
        """CompleteMultipartUpload; returns the object's ETag (unquoted).

        ``checksum`` is the whole object's (a ``FULL_OBJECT`` upload): S3 checks it against
        the parts it stored and refuses the completion when they differ."""
        root = await self._post_xml(bucket, key, canonical_query({"uploadId": upload_id}),
                                    complete_multipart_headers(checksum),
                                    complete_multipart_body(parts))
        return strip_etag(child_text(root, "ETag"))

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload already gone is not an error."""
        client = self._client
        resp = await client.send("DELETE", bucket, key,
                                 query=canonical_query({"uploadId": upload_id}))
        if resp.status in (200, 204):
            resp.release()
            return
        error = await client.fail(resp, bucket, key)
        if error.code != "NoSuchUpload":
            raise error

    # -- deletes ----------------------------------------------------------------------------

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteObjects (quiet, with Content-MD5) of up to 1,000 keys; returns the keys not
        deleted with ``"Code: Message"``. Keys XML 1.0 cannot carry go by DeleteObject."""
        in_xml, one_by_one = delete_batch(keys)
        failed: list[tuple[str, str]] = []
        if in_xml:
            body = delete_body(in_xml)
            headers = {"content-type": "application/xml",
                       "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}
            failed += delete_failures(await self._post_xml(bucket, None, "delete=", headers,
                                                           body))
        client = self._client
        for key in one_by_one:
            resp = await client.send("DELETE", bucket, key)
            if resp.status in (200, 204):
                resp.release()
                continue
            error = await client.fail(resp, bucket, key)
            if isinstance(error, TransientError | NoSuchBucketError):
                raise error
            failed.append((key, f"{error.code or error.status}: {error}"))
        return failed

    # -- S3 to S3 (issue 14): see .copy ---------------------------------------------------

    async def head_source(self, bucket: str, key: str, *, version_id: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> SourceHead:
        """HEAD of a copy's source, with its checksums and every header."""
        return await copy.head_source(self._client, bucket, key, version_id, sse_customer_key)

    async def copy_object(self, bucket: str, key: str, source: CopySource, *,
                          attributes: ObjectAttributes | None = None,
                          checksum_algorithm: str | None = None,
                          sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """CopyObject; a 200 answer carrying an error raises."""
        return await copy.copy_object(self._client, bucket, key, source, attributes,
                                      checksum_algorithm, sse_customer_key)

    async def create_copy_upload(self, bucket: str, key: str, *,
                                 attributes: ObjectAttributes | None = None,
                                 checksum_algorithm: str | None = None,
                                 checksum_type: str | None = None,
                                 sse_customer_key: SSECustomerKey | None = None) -> str:
        """CreateMultipartUpload of a multipart copy; returns the upload id."""
        return await copy.create_copy_upload(self._client, bucket, key, attributes,
                                             checksum_algorithm, checksum_type,
                                             sse_customer_key)

    async def upload_part_copy(self, bucket: str, key: str, upload_id: str, part_number: int,
                               source: CopySource, byte_range: tuple[int, int], *,
                               sse_customer_key: SSECustomerKey | None = None) -> CopyAnswer:
        """UploadPartCopy; a 200 answer carrying an error, or no ETag, raises."""
        return await copy.upload_part_copy(self._client, bucket, key, upload_id, part_number,
                                           source, byte_range, sse_customer_key)


    # -- verbs and versions (issue 14) ---------------------------------------------------

    async def presign(self, method: str, bucket: str, key: str, expires_in: int, *,
                      params: Mapping[str, str] | None = None) -> str:
        """A presigned URL (see :meth:`Transport.presign`), signed locally."""
        return await self._client.presign(method, bucket, key, expires_in, params)

    # The versioned operations (see the Transport protocol) are .versions'.
    head_version = versions.head_version
    head_part_version = versions.head_part_version
    get_version = versions.get_version
    list_versions_page = versions.list_versions_page

    # -- attrs (issue 14) -------------------------------------------------------------------

    def use_sse_customer_key(self, key: SSECustomerKey | None) -> None:
        """See :meth:`Transport.use_sse_customer_key`; the client signs the headers in."""
        self._client.use_sse_customer_key(key)

    # -- resumable uploads (issue 14)

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[ListedPart]:
        """ListParts, every page (see :mod:`.listparts`)."""
        return await list_parts(self._client, bucket, key, upload_id)
