"""Special destinations are written into, never replaced (issue 10, item 18), and a `get`
of what does not exist is an error (issue 10, "Also").

Device nodes are made in tmp_path with os.mknod (the tests run as root): ``1:3`` behaves as
/dev/null, ``1:7`` as /dev/full. The machine's own /dev nodes are used only by tests that
run after the code is known to stream into them (see the module's last tests).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from s3pump import AsyncPump, TransferConfig
from s3pump._cli import main
from tests._deletes import files, put_many

SMALL_PARTS = TransferConfig(multipart_threshold=200_000, part_size=64 << 10,
                             small_object_size=64 << 10, chunk_size=64 << 10,
                             backoff_base=0.001, backoff_cap=0.01)
BODY = os.urandom(300_000)  # above SMALL: a streamed temp file, were it written as a file
SMALL = b"small object body"


@pytest.fixture
def seeded(s3: Any, bucket: str) -> str:
    put_many(s3, bucket, {"k.bin": BODY, "d/small.txt": SMALL, "d/null": SMALL,
                          "d/fifo": SMALL, "d/ok.txt": SMALL, "d/big-link": BODY})
    return bucket


def _device(path: Path, minor: int) -> Path:
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def _is_char_device(path: Path, minor: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, minor)


class _FifoReader(threading.Thread):
    """Reads a FIFO to its end in the background."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.data = b""

    def run(self) -> None:
        with open(self.path, "rb") as f:
            self.data = f.read()


def test_get_into_a_fifo_streams(endpoint: str, seeded: str, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    reader.start()
    code = main(["get", f"s3://{seeded}/k.bin", str(fifo), "--endpoint-url", endpoint, "-q"])
    reader.join(30)
    assert code == 0
    assert reader.data == BODY
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert files(tmp_path) == set()  # no temp file, no regular file


def test_get_into_a_character_device_streams(endpoint: str, seeded: str,
                                             tmp_path: Path) -> None:
    null = _device(tmp_path / "null", 3)
    link = tmp_path / "stdout"
    link.symlink_to(null)  # as /dev/stdout leads to the real thing
    for dest in (null, link):
        assert main(["get", f"s3://{seeded}/k.bin", str(dest), "--endpoint-url", endpoint,
                     "-q"]) == 0
    assert _is_char_device(null, 3)
    assert link.is_symlink() and os.readlink(link) == str(null)
    assert files(tmp_path) == set()


def test_get_into_a_full_device_fails_with_one_line(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = _device(tmp_path / "full", 7)
    code = main(["get", f"s3://{seeded}/k.bin", str(full), "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "no space" in err, err
    assert _is_char_device(full, 7)
    assert files(tmp_path) == set()


def test_get_to_dash_streams_to_stdout(endpoint: str, seeded: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "get", f"s3://{seeded}/k.bin", "-",
         "--endpoint-url", endpoint], capture_output=True, timeout=60, check=False,
        cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == BODY
    assert list(tmp_path.iterdir()) == []  # no file named "-"


async def test_bulk_downloads_never_replace_special_files(
    endpoint: str, seeded: str, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    _device(dest / "null", 3)
    os.mkfifo(dest / "fifo")
    (dest / "big-link").symlink_to(dest / "null")  # a large object onto a link to a device
    async with AsyncPump(endpoint_url=endpoint, config=SMALL_PARTS) as pump:
        got = await pump.download_prefix(f"s3://{seeded}/d/", dest)
        synced = await pump.sync(f"s3://{seeded}/d/", dest)
    for result in (got, synced):
        failed = {f.key: f.reason for f in result.failed}
        assert set(failed) == {"d/null", "d/fifo", "d/big-link"}, failed
        assert "character device" in failed["d/null"] and "FIFO" in failed["d/fifo"]
        assert "character device" in failed["d/big-link"]
    assert _is_char_device(dest / "null", 3)
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert os.readlink(dest / "big-link") == str(dest / "null")
    assert (dest / "ok.txt").read_bytes() == SMALL
    assert not any(p.name.startswith(".s3pump-") for p in dest.iterdir())


# --- what does not exist -----------------------------------------------------------------


def test_get_of_a_missing_key_is_an_error(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for src, dest in ((f"s3://{seeded}/missing.txt", tmp_path / "missing.txt"),
                      (f"s3://{seeded}/missing.txt", tmp_path / "into" / ""),
                      (f"s3://{seeded}/nothing/", tmp_path / "nothing")):
        code = main(["get", src, str(dest), "--endpoint-url", endpoint])
        out, err = capsys.readouterr()
        assert code == 2, (src, err)
        assert "downloaded" not in err and out == ""
        assert err.count("\n") == 1 and "no such key" in err, err
        assert list(tmp_path.iterdir()) == [], src  # nothing created, not even a folder


def test_get_of_a_folder_without_slash_and_of_an_empty_bucket(
    endpoint: str, s3: Any, seeded: str, tmp_path: Path
) -> None:
    assert main(["get", f"s3://{seeded}/d", str(tmp_path / "d"), "--endpoint-url", endpoint,
                 "-q"]) == 0
    assert files(tmp_path / "d") == {"small.txt", "null", "fifo", "ok.txt", "big-link"}
    s3.create_bucket(Bucket="empty-bucket-special")
    assert main(["get", "s3://empty-bucket-special/", str(tmp_path / "e"),
                 "--endpoint-url", endpoint, "-q"]) == 0


# --- the machine's own /dev nodes ------------------------------------------------------------


def test_dev_full_and_dev_stdout(
    endpoint: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real /dev/full and /dev/stdout, once the same code has proven on look-alike nodes
    in tmp_path (just above) that it writes into them rather than replacing them."""
    full = _device(tmp_path / "full", 7)
    link = tmp_path / "stdout"
    link.symlink_to(full)
    for dest in (full, link):
        assert main(["get", f"s3://{seeded}/k.bin", str(dest), "--endpoint-url", endpoint,
                     "-q"]) == 2
    assert _is_char_device(full, 7) and link.is_symlink(), "unsafe: /dev is left alone"
    capsys.readouterr()

    assert _is_char_device(Path("/dev/full"), 7)
    code = main(["get", f"s3://{seeded}/k.bin", "/dev/full", "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == 2 and err == "s3pump: error: no space left on device: /dev/full\n", err
    assert _is_char_device(Path("/dev/full"), 7)

    stdout_link = os.readlink("/dev/stdout")
    proc = subprocess.run(
        [sys.executable, "-m", "s3pump", "get", f"s3://{seeded}/k.bin", "/dev/stdout",
         "--endpoint-url", endpoint, "-q"], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == BODY
    assert os.path.islink("/dev/stdout") and os.readlink("/dev/stdout") == stdout_link


async def test_a_missing_object_leaves_a_fifo_untouched(
    endpoint: str, seeded: str, tmp_path: Path
) -> None:
    """The GET answers before the FIFO is opened: nobody reading it is needed to learn that
    the key is missing, and a reader would see nothing."""
    from s3pump import NoSuchKeyError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    try:
        async with AsyncPump(endpoint_url=endpoint) as pump:
            with anyio.fail_after(10), pytest.raises(NoSuchKeyError):
                await pump.download_file(f"s3://{seeded}/missing.bin", fifo)
    finally:  # a writer stuck opening the FIFO is let go, so that no thread stays behind
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
