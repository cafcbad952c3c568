"""ListParts answers: parsing (namespaces, checksums, truncation) and the page loop."""

from __future__ import annotations

import anyio
import pytest

from s3pump import TransientError
from s3pump._transport.parts import ListedPart, list_all_parts, parse_list_parts

NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _page(parts: str, truncated: bool, marker: int | None = None) -> bytes:
    tail = f"<NextPartNumberMarker>{marker}</NextPartNumberMarker>" if marker else ""
    return (f'<ListPartsResult xmlns="{NS}"><Bucket>b</Bucket><Key>k</Key>'
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{tail}"
            f"{parts}</ListPartsResult>").encode()


def test_a_page_with_checksums_and_a_marker() -> None:
    body = _page('<Part><PartNumber>2</PartNumber><ETag>"abc"</ETag><Size>5</Size>'
                 "<ChecksumCRC64NVME>AAAA</ChecksumCRC64NVME></Part>"
                 "<Part><PartNumber>7</PartNumber><ETag>def</ETag><Size>1</Size></Part>",
                 truncated=True, marker=7)
    parts, marker = parse_list_parts(body)
    assert parts == [ListedPart(2, 5, "abc", {"crc64nvme": "AAAA"}), ListedPart(7, 1, "def")]
    assert marker == 7
    assert parse_list_parts(_page("", truncated=False, marker=3)) == ([], None)


def test_not_a_list_parts_answer() -> None:
    with pytest.raises(ValueError, match="not a ListPartsResult"):
        parse_list_parts(b"<Error><Code>x</Code></Error>")


def test_every_page_is_read_and_markers_must_advance() -> None:
    pages = {0: ([ListedPart(3, 1, "c")], 3), 3: ([ListedPart(1, 1, "a")], None)}

    async def page(marker: int) -> tuple[list[ListedPart], int | None]:
        return pages[marker]

    found = anyio.run(list_all_parts, page, "b", "k")
    assert [p.number for p in found] == [1, 3]

    async def stuck(marker: int) -> tuple[list[ListedPart], int | None]:
        return [], 0

    with pytest.raises(TransientError, match="do not advance"):
        anyio.run(list_all_parts, stuck, "b", "k")
