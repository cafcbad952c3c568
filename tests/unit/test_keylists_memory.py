"""Key lists instead of listings (``keys=``, ``--files-from``) on a MemoryTransport: no
listing is sent for an S3 source, each key is HEADed; missing keys fail on their own;
unsafe names are refused unsent; the file format (CRLF, comments, blank lines, NUL);
uploads from a list of paths; ``sync`` with ``delete`` refused."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

import s3pump
from s3pump import MemoryTransport

BUCKET = "keys-bucket"
CONFIG = s3pump.TransferConfig(concurrency=4, backoff_base=0.0, backoff_cap=0.0)


def _store() -> MemoryTransport:
    t = MemoryTransport([BUCKET], page_size=2)
    for name in ("a.txt", "b/c.txt", "b/d.txt", "#hash", "sp ace ", "other.txt"):
        t.put(BUCKET, "data/" + name, f"body of {name}".encode())
    t.put(BUCKET, "outside.txt", b"not below the prefix")
    return t


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".s3pump" not in p.relative_to(root).parts}


def _download(t: MemoryTransport, dest: Path, keys: object, **kw: object
              ) -> s3pump.TransferResult:
    async def main() -> s3pump.TransferResult:
        async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
            return await pump.download_prefix(f"s3://{BUCKET}/data/", dest,
                                              keys=keys, **kw)  # type: ignore[arg-type]
    return anyio.run(main)


def test_a_key_list_downloads_only_its_keys_without_listing(tmp_path: Path) -> None:
    t = _store()
    listing = tmp_path / "keys.txt"
    # CRLF, a comment, blank lines, a key with spaces kept as they are, a repeat.
    listing.write_bytes(b"a.txt\r\n# a comment\n\nb/c.txt\nsp ace \nb/c.txt\n")
    result = _download(t, tmp_path / "out", str(listing))
    assert result.ok, result.failed
    assert _files(tmp_path / "out") == {"a.txt": b"body of a.txt", "b/c.txt": b"body of b/c.txt",
                                        "sp ace ": b"body of sp ace "}
    assert t.calls["list"] == 0
    assert t.calls["head"] == 3  # the repeat is taken once
    assert result.transferred == 3 and result.listed == 3


def test_a_missing_key_fails_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    t = _store()
    result = _download(t, tmp_path / "out", ["a.txt", "gone.txt", "b/d.txt"])
    assert [f.key for f in result.failed] == ["data/gone.txt"]
    assert result.failed[0].error == "NoSuchKeyError"
    assert _files(tmp_path / "out") == {"a.txt": b"body of a.txt", "b/d.txt": b"body of b/d.txt"}


def test_keys_that_escape_the_destination_are_refused_unsent(tmp_path: Path) -> None:
    t = _store()
    result = _download(t, tmp_path / "out", ["../outside.txt", "/etc/passwd", "b//c.txt",
                                              "a.txt"])
    assert sorted(f.key for f in result.failed) == sorted(
        ["data/../outside.txt", "data//etc/passwd", "data/b//c.txt"])
    assert all(f.error == "UnsafeKeyError" for f in result.failed)
    assert t.calls["head"] == 1
    assert not (tmp_path / "outside.txt").exists()
    assert _files(tmp_path / "out") == {"a.txt": b"body of a.txt"}


def test_nul_separated_names_are_taken_exactly(tmp_path: Path) -> None:
    t = _store()
    listing = tmp_path / "keys0"
    listing.write_bytes(b"#hash\0a.txt\0\0sp ace ")
    result = _download(t, tmp_path / "out", listing, from0=True)
    assert result.ok, result.failed
    assert sorted(_files(tmp_path / "out")) == ["#hash", "a.txt", "sp ace "]


def test_filters_apply_to_the_listed_keys_before_any_request(tmp_path: Path) -> None:
    t = _store()
    result = _download(t, tmp_path / "out", ["a.txt", "b/c.txt", "b/d.txt"],
                       filters=[("exclude", "b/*")])
    assert result.ok and result.transferred == 1
    assert t.calls["head"] == 1


def test_a_list_that_is_not_utf8_or_not_there_is_a_config_error(tmp_path: Path) -> None:
    t = _store()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"a.txt\n\xff\xfe\n")
    with pytest.raises(s3pump.ConfigError, match="not UTF-8"):
        _download(t, tmp_path / "out", bad)
    with pytest.raises(s3pump.ConfigError, match="cannot read the key list"):
        _download(t, tmp_path / "out2", tmp_path / "missing.txt")
    with pytest.raises(s3pump.ConfigError, match="empty or blank"):
        _download(t, tmp_path / "out3", " ")


def test_a_wildcard_source_with_a_key_list_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with s3pump.AsyncPump(transport=_store(), config=CONFIG) as pump:
            await pump.download_prefix(f"s3://{BUCKET}/data/*.txt", tmp_path, keys=["a.txt"])
    with pytest.raises(s3pump.ConfigError, match="wildcards"):
        anyio.run(main)


def test_sync_with_a_key_list_and_delete_is_refused(tmp_path: Path) -> None:
    t = _store()
    (tmp_path / "keep.txt").write_text("mine")

    async def main() -> None:
        async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
            await pump.sync(f"s3://{BUCKET}/data/", tmp_path, delete=True, keys=["a.txt"])
    with pytest.raises(s3pump.ConfigError, match="--delete"):
        anyio.run(main)
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sum(t.calls.values()) == 0


def test_sync_down_with_a_key_list_skips_what_is_unchanged(tmp_path: Path) -> None:
    t = _store()

    async def main() -> tuple[s3pump.TransferResult, s3pump.TransferResult]:
        async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
            first = await pump.sync(f"s3://{BUCKET}/data/", tmp_path, keys=["a.txt", "b/c.txt"])
            second = await pump.sync(f"s3://{BUCKET}/data/", tmp_path,
                                     keys=["a.txt", "b/c.txt"])
            return first, second
    first, second = anyio.run(main)
    assert first.transferred == 2 and second.transferred == 0 and second.skipped == 2
    assert t.calls["list"] == 0 and t.calls["get"] == 2


def test_upload_from_a_list_of_paths(tmp_path: Path) -> None:
    t = _store()
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "one.txt").write_text("1")
    (src / "d" / "two.txt").write_text("2")
    (src / "not-listed.txt").write_text("x")
    (tmp_path / "secret").write_text("outside")
    (src / "link").symlink_to(tmp_path / "secret")
    (src / "dirlink").symlink_to(tmp_path)
    names = ["one.txt", "d/two.txt", "missing.txt", "d", "../secret", "link", "dirlink/secret"]

    async def main() -> s3pump.TransferResult:
        async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
            return await pump.upload_dir(src, f"s3://{BUCKET}/up/", keys=names)
    result = anyio.run(main)
    assert t.keys(BUCKET, "up/") == ["up/d/two.txt", "up/one.txt"]
    failed = {f.key: f.reason for f in result.failed}
    assert set(failed) == {str(src / "missing.txt"), str(src / "d"), str(src / "../secret")}
    assert "no such file" in failed[str(src / "missing.txt")]
    assert "a folder" in failed[str(src / "d")]
    assert result.skipped == 2  # the symlink, and the path through a symlinked folder
    assert t.calls["list"] == 1  # only the destination's exist_ok check (MaxKeys=2)


def test_a_long_list_is_read_lazily(tmp_path: Path) -> None:
    """250,000 names: memory stays that of a batch (a set of them all would hold ~30 MB);
    the filters drop all but two before any request."""
    import tracemalloc

    t = _store()
    listing = tmp_path / "long.txt"
    with listing.open("w") as out:
        out.write("a.txt\n")
        for i in range(250_000):
            out.write(f"skip/{i:07d}/a-fairly-long-name-to-weigh-something.bin\n")
        out.write("b/c.txt\n")
    tracemalloc.start()
    try:
        result = _download(t, tmp_path / "out", listing, filters=[("exclude", "skip/*")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok and result.transferred == 2
    assert t.calls["head"] == 2
    assert peak < 4 * 1024 * 1024, peak


def test_sync_up_with_a_key_list_heads_its_keys_instead_of_listing(tmp_path: Path) -> None:
    t = _store()
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"body of a.txt")  # the same as data/a.txt
    (src / "new.txt").write_text("new")
    (src / "b").mkdir()
    (src / "b" / "c.txt").write_text("changed")

    async def main() -> s3pump.TransferResult:
        async with s3pump.AsyncPump(transport=t, config=CONFIG) as pump:
            return await pump.sync(src, f"s3://{BUCKET}/data/",
                                   keys=["a.txt", "new.txt", "b/c.txt"])
    result = anyio.run(main)
    assert result.ok, result.failed
    assert (result.transferred, result.skipped) == (2, 1)  # a.txt: the same content
    assert t.calls["list"] == 0 and t.calls["head"] == 3
    assert t.stored(BUCKET, "data/b/c.txt").data == b"changed"  # type: ignore[union-attr]
    assert t.stored(BUCKET, "data/b/d.txt") is not None  # not in the list: left alone
