"""ListParts on the lean transport (issue 14, resumable uploads): signed GETs of
``?uploadId=...&part-number-marker=N``, parsed by :func:`~.._transport.parts.parse_list_parts`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..._errors import TransientError
from ..parts import ListedPart, list_all_parts, parse_list_parts
from .client import LeanClient
from .sigv4 import canonical_query

__all__ = ["list_parts"]


async def list_parts(client: LeanClient, bucket: str, key: str, upload_id: str
                     ) -> list[ListedPart]:
    """Every part of the upload ``upload_id``, in part-number order.

    Raises:
        NotFoundError: the upload is gone (``NoSuchUpload``).
        TransientError: an answer that cannot be read.
    """

    async def page(marker: int) -> tuple[list[ListedPart], int | None]:
        query = {"uploadId": upload_id, "max-parts": "1000"}
        if marker:
            query["part-number-marker"] = str(marker)
        resp = await client.exchange("GET", bucket, key, query=canonical_query(query))
        if resp.status != 200:
            raise await client.fail(resp, bucket, key)
        body = await client.read_answer(resp, bucket, key)
        try:
            return parse_list_parts(body)
        except (ET.ParseError, ValueError, KeyError) as exc:
            raise TransientError(f"unreadable ListParts answer for s3://{bucket}/{key}: "
                                 f"{exc}", bucket=bucket, key=key) from exc

    return await list_all_parts(page, bucket, key)
