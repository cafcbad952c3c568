"""A listing is acted on only when it is complete: against a server whose listings misbehave.

Every fault (a truncated page without a token, a token that repeats, a key listed again or
going backwards) must stop ``sync --delete`` (both ways) and ``get`` before any delete, with a
non-zero exit, a clear message and a bounded number of requests, on both transports. Servers
whose start-after or delimiter answers diverge (SeaweedFS, s3rver) are listed completely.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._cli import main
from s3pump._config import ClientConfig
from s3pump._errors import RequestError
from s3pump._models import ObjectInfo
from s3pump._retry import RetryPolicy
from s3pump._run.listing import list_objects_parallel, list_objects_sequential
from s3pump._transport import open_transport
from tests._listing_server import ListingServer

BROKEN = ("truncated_no_token", "repeat_token", "duplicate", "backwards")
# Broken too, checked on the listing functions and ls.
ALSO_BROKEN = ("empty_forever", "outside_prefix")
# Keys sort so that the first pages hold the remote-only ones (an upload mirror would delete
# them) and the local files of a download mirror come later (it would delete those).
REMOTE = {f"p/0extra{i}.txt": b"x" for i in range(2)}
SHARED = {"p/a/1.txt": b"one", "p/a/2.txt": b"two", "p/b/3.txt": b"three",
          "p/c/d/4.txt": b"four", "p/e.txt": b"five"}
# Small enough that a loop is visible, large enough for every request a correct run needs.
MAX_LISTS = 60


def _seed_local(root: Path, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        path = root / key.removeprefix("p/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _local_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".s3pump" not in p.parts}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_refused(code: int, out: str, err: str, server: ListingServer) -> None:
    assert code != 0
    assert '"ok": true' not in out
    assert "listing" in err and "incomplete" in err, err
    assert server.counts["list"] <= MAX_LISTS // 2, server.counts


@pytest.mark.parametrize("mode", BROKEN)
def test_sync_down_deletes_nothing_after_a_broken_listing(
    mode: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "mirror"
    _seed_local(local, SHARED)
    before = _local_tree(local)
    server = ListingServer({**REMOTE, **SHARED}, mode=mode, max_lists=MAX_LISTS)
    with server as url:
        code, out, err = _run(["sync", "s3://bkt/p/", str(local), "--delete", "--json",
                               "--endpoint-url", url, "--transport", kind], capsys)
    _assert_refused(code, out, err, server)
    assert _local_tree(local) == before  # nothing deleted, nothing half-written


@pytest.mark.parametrize("mode", BROKEN)
def test_sync_up_deletes_nothing_after_a_broken_listing(
    mode: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "src"
    _seed_local(local, SHARED)
    server = ListingServer({**REMOTE, **SHARED}, mode=mode, max_lists=MAX_LISTS)
    with server as url:
        code, out, err = _run(["sync", str(local), "s3://bkt/p/", "--delete", "--json",
                               "--endpoint-url", url, "--transport", kind], capsys)
    _assert_refused(code, out, err, server)
    assert server.deleted == []
    assert server.counts["delete"] == 0


@pytest.mark.parametrize("mode", BROKEN)
def test_get_reports_failure_after_a_broken_listing(
    mode: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ListingServer({**REMOTE, **SHARED}, mode=mode, max_lists=MAX_LISTS)
    with server as url:
        code, out, err = _run(["get", "s3://bkt/p/", str(tmp_path / "out"), "--json",
                               "--endpoint-url", url, "--transport", kind], capsys)
    _assert_refused(code, out, err, server)


# -- the listing functions themselves -------------------------------------------------------


class Collector:
    """An ``emit`` that keeps every key it is given, in order."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def __call__(self, objects: list[ObjectInfo]) -> None:
        self.keys.extend(obj.key for obj in objects)


def retry() -> RetryPolicy:
    return RetryPolicy(TransferConfig())


@pytest.mark.parametrize("mode", BROKEN + ALSO_BROKEN)
@pytest.mark.parametrize("parallel", [False, True], ids=["flat", "parallel"])
async def test_a_broken_listing_raises_a_listing_error(mode: str, parallel: bool,
                                                       kind: str) -> None:
    objects = {f"q/{i:02d}/{j}.txt": b"x" for i in range(6) for j in range(3)}
    server = ListingServer(objects, mode=mode, max_lists=5000)
    async with server as url:
        transport = await open_transport(ClientConfig(endpoint_url=url), 8, kind)
        try:
            got = Collector()
            with pytest.raises(RequestError) as caught:
                if parallel:
                    await list_objects_parallel(transport, "bkt", "q/", retry(), got,
                                                page_size=4)
                else:
                    await list_objects_sequential(transport, "bkt", "q/", retry(), got,
                                                  page_size=4)
        finally:
            await transport.aclose()
    assert type(caught.value).__name__ == "ListingError"
    assert "incomplete" in str(caught.value)
    assert len(got.keys) == len(set(got.keys))  # nothing was handed on twice
    # Bounded: a hundred empty pages in a row at most for each paginator (a few of them
    # run at once), a few requests otherwise.
    assert server.counts["list"] <= (1000 if mode == "empty_forever" else MAX_LISTS // 2)


async def test_a_folder_without_the_delimiter_is_refused(kind: str) -> None:
    objects = {f"q/{i:02d}/{j}.txt": b"x" for i in range(6) for j in range(3)}
    async with ListingServer(objects, mode="not_a_folder") as url:
        transport = await open_transport(ClientConfig(endpoint_url=url), 8, kind)
        try:
            with pytest.raises(RequestError, match="named 'q/zz' as a folder"):
                await list_objects_parallel(transport, "bkt", "q/", retry(), Collector(),
                                            page_size=4)
        finally:
            await transport.aclose()


@pytest.mark.parametrize("mode", BROKEN + ALSO_BROKEN)
def test_ls_reports_a_broken_listing(mode: str, kind: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    server = ListingServer({**REMOTE, **SHARED}, mode=mode, max_lists=200)
    with server as url:
        code, _, err = _run(["ls", "-r", "s3://bkt/p/", "--endpoint-url", url,
                               "--transport", kind], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "listing" in err and "incomplete" in err, err
    assert server.counts["list"] <= 110


DIVERGENT = {
    # 20 folders of 10: SeaweedFS skipped whole folders of this (the 160 of 200).
    **{f"data/d{i:02d}/f{j}.txt": b"s" for i in range(20) for j in range(10)},
    # Folders that hold only folders (s3rver left these out of delimiter listings).
    **{f"data/n{i}/m/x{j}.txt": b"n" for i in range(3) for j in range(4)},
    "data/deep/a/b/c/d/e.txt": b"deep",
    "data/top.txt": b"top",
}


@pytest.mark.parametrize("mode", ["seaweed", "s3rver", "duplicate_prefix"])
async def test_divergent_servers_are_listed_completely(
    mode: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = ListingServer(DIVERGENT, mode=mode, page=1000, max_lists=2000)
    async with server as url:
        transport = await open_transport(ClientConfig(endpoint_url=url), 8, kind)
        try:
            for page_size in (3, 1000):
                got = Collector()
                with caplog.at_level(logging.INFO, logger="s3pump"):
                    await list_objects_parallel(transport, "bkt", "data/", retry(), got,
                                                page_size=page_size)
                assert sorted(got.keys) == sorted(DIVERGENT), (mode, page_size)
                assert len(got.keys) == len(DIVERGENT)  # each key once
        finally:
            await transport.aclose()
    if mode != "duplicate_prefix":
        assert any("plain prefix listings" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("mode", ["seaweed", "s3rver"])
def test_get_and_sync_against_divergent_servers(
    mode: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pages of 50 keys: more than one, so that the listing fans out (and is checked).
    server = ListingServer(DIVERGENT, mode=mode, page=50, max_lists=2000)
    with server as url:
        code, out, err = _run(["get", "-v", "s3://bkt/data/", str(tmp_path / "get"), "--json",
                               "--endpoint-url", url, "--transport", kind], capsys)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["transferred"] == len(DIVERGENT)
        assert "listing with plain prefix listings from now on" in err  # said at -v
        mirror = tmp_path / "mirror"
        _seed_local(mirror, {"p/stale.txt": b"old"})
        code, out, err = _run(["sync", "s3://bkt/data/", str(mirror), "--delete", "--json",
                               "--endpoint-url", url, "--transport", kind], capsys)
        assert code == 0, err
    want = {k.removeprefix("data/"): v for k, v in DIVERGENT.items()}
    assert _local_tree(tmp_path / "get") == want
    assert _local_tree(mirror) == want
    assert json.loads(out)["deleted"] == 1


async def test_a_key_listed_twice_by_the_server_is_handed_on_once(kind: str,
                                                                   tmp_path: Path) -> None:
    """A folder named again on a later delimiter page is listed once (each key once)."""
    objects = {f"r/{i:02d}/k.txt": b"x" for i in range(9)}
    server = ListingServer(objects, mode="duplicate_prefix", page=2)
    async with server as url, AsyncPump(endpoint_url=url, transport=kind) as pump:
        result = await pump.download_prefix("s3://bkt/r/", tmp_path, dry_run=True)
    assert result.transferred == len(objects)
