"""DESIGN §6.6: disk full, permission denied and Ctrl-C stop cleanly.

Each test runs the real ``s3pump`` executable and checks what a user sees: the exit code,
one line on stderr, no temp files, complete files kept (byte for byte), and, for an
interrupted upload, no multipart upload left open in the bucket.

How the faults are made, as root or not (CI is a fresh machine of the same kind):
- disk full: a 4 MiB tmpfs mounted over the destination inside a private mount namespace
  (``unshare --mount``; ``--user --map-root-user`` added when not root), so nothing leaks
  out of the test; the listing is taken inside the namespace, before the tmpfs goes away;
- read-only file system: the same, mounted ``ro``;
- permission denied: the destination is mode 0555 and s3pump runs without
  CAP_DAC_OVERRIDE (``setpriv``), so the permission bits hold even for root.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._data import put_many
from tests._faults import Fault, FaultProxy

MiB = 1 << 20


def s3pump(*args: str) -> list[str]:
    return [sys.executable, "-m", "s3pump", *args]


def in_mount_namespace(mount_options: str, dest: Path, command: list[str],
                       out: Path) -> tuple[int, str, dict[str, int]]:
    """Run ``command`` with a fresh tmpfs (``mount_options``) on ``dest``, in a private mount
    namespace; returns the exit code, stderr and the files left in ``dest`` with sizes."""
    listing = out / "listing.json"
    lister = ("import json,os,sys; d=sys.argv[1]; print(json.dumps({os.path.relpath("
              "os.path.join(p, f), d): os.path.getsize(os.path.join(p, f)) for p, _, fs "
              "in os.walk(d) for f in fs}))")
    script = (
        'mount -t tmpfs -o "$1" s3pump-test "$2" || exit 99; shift 3; '
        '"$@"; code=$?; '
        f'{sys.executable} -c "$LISTER" "$DEST" > "$LISTING"; exit $code'
    )
    namespace = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        namespace[1:1] = ["--user", "--map-root-user"]
    dest.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LISTER=lister, DEST=str(dest), LISTING=str(listing))
    proc = subprocess.run([*namespace, "sh", "-c", script, "sh", mount_options, str(dest),
                           "--", *command], capture_output=True, text=True, timeout=180,
                          env=env, check=False)
    assert proc.returncode != 99, f"could not mount a tmpfs: {proc.stderr}"
    return proc.returncode, proc.stderr, json.loads(listing.read_text())


@pytest.fixture
def small_and_large(s3: Any, bucket: str) -> dict[str, bytes]:
    """Small objects that fit a 4 MiB disk a few at a time, and large ones that do not."""
    objects = {f"f/small-{i:02d}.bin": os.urandom(200 << 10) for i in range(24)}
    # Listed after the small ones: the disk fills while small files are being written,
    # rather than at once by the preallocation of two large ones started together.
    objects.update({f"f/z-large-{i}.bin": os.urandom(3 * MiB) for i in range(2)})
    put_many(s3, bucket, objects)
    return objects


def assert_complete_files_kept(left: dict[str, int], objects: dict[str, bytes]) -> None:
    """Every file left is a whole object; no temp file."""
    assert [name for name in left if ".s3pump-" in name] == []
    for name, size in left.items():
        assert size == len(objects[f"f/{name}"]), name


@pytest.mark.parametrize(("mount_options", "message"), [
    ("size=4m", "no space left on device"),
    ("size=4m,ro", "read-only file system"),
])
def test_full_or_read_only_disk_stops_with_one_line_and_exit_2(
    endpoint: str, bucket: str, small_and_large: dict[str, bytes], tmp_path: Path,
    mount_options: str, message: str,
) -> None:
    dest = tmp_path / "dest"
    code, err, left = in_mount_namespace(
        mount_options, dest,
        s3pump("get", f"s3://{bucket}/f/", str(dest), "--endpoint-url", endpoint, "-j", "4"),
        tmp_path)
    assert code == 2, err
    assert err.startswith(f"s3pump: error: {message}: "), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert_complete_files_kept(left, small_and_large)
    if mount_options.endswith("ro"):
        assert left == {}
    else:
        assert 0 < len(left) < len(small_and_large)  # some fitted, not all


WITHOUT_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                        "--inh-caps=-dac_override,-dac_read_search"]


def test_permission_denied_in_a_directory_fails_its_keys_only(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    put_many(s3, bucket, {"f/locked/a.txt": b"a", "f/locked/big.bin": os.urandom(20 * MiB),
                          "f/open/b.txt": b"b", "f/c.txt": b"c"})
    dest = tmp_path / "dest"
    (dest / "locked").mkdir(parents=True)
    (dest / "locked").chmod(0o555)
    proc = subprocess.run(
        [*WITHOUT_DAC_OVERRIDE, *s3pump("get", f"s3://{bucket}/f/", str(dest),
                                        "--endpoint-url", endpoint)],
        capture_output=True, text=True, timeout=180, check=False)
    (dest / "locked").chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert sorted(lines[:-1]) == [
        f"s3pump: failed: f/locked/{name}: permission denied: {dest}/locked/{name}"
        for name in ("a.txt", "big.bin")]
    assert lines[-1].startswith("downloaded 2 objects") and lines[-1].endswith(", 2 failed")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "c.txt", "locked", "open", "open/b.txt"]


async def interrupt(command: list[str], ready: Callable[[], bool]) -> tuple[int, str]:
    """Start ``command``, send SIGINT once ``ready()``; returns the exit code and stderr."""
    async with await anyio.open_process(command) as proc:
        with anyio.fail_after(60):
            while not ready():
                await anyio.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        with anyio.fail_after(60):
            code = await proc.wait()
        assert proc.stderr is not None
        return code, b"".join([chunk async for chunk in proc.stderr]).decode()


def assert_stopped_cleanly(err: str, signal_name: str = "SIGINT") -> None:
    """The clean stop is announced, and the summary says it was interrupted."""
    lines = err.splitlines()
    assert lines[0].startswith(f"WARNING s3pump: {signal_name} received: stopping cleanly"), err
    assert lines[-1].startswith(f"interrupted by {signal_name}: "), err
    assert "Traceback" not in err


async def test_interrupted_download_keeps_complete_files(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    objects = {f"f/small-{i:02d}.txt": os.urandom(10 << 10) for i in range(20)}
    objects.update({f"f/slow-{i}.bin": os.urandom(2 * MiB) for i in range(3)})
    put_many(s3, bucket, objects)
    async with FaultProxy(endpoint) as proxy:
        proxy.add(Fault("slow", key="f/slow-", delay=0.2))
        code, err = await interrupt(
            s3pump("get", f"s3://{bucket}/f/", str(tmp_path), "--endpoint-url", proxy.url,
                   "-j", "8"),
            lambda: len(list(tmp_path.glob("small-*"))) == 20
            and bool(list(tmp_path.glob(".s3pump-*"))))
    assert code == 130, err
    assert_stopped_cleanly(err)
    left = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert [name for name in left if name.startswith(".s3pump-")] == []
    assert sum(name.startswith("small-") for name in left) == 20
    for name, data in left.items():
        assert data == objects[f"f/{name}"], name


async def test_interrupted_multipart_upload_is_aborted(
    endpoint: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.txt").write_bytes(b"small")
    (src / "big.bin").write_bytes(os.urandom(20 * MiB))
    async with FaultProxy(endpoint) as proxy:
        # Every part fails (and is retried with backoff): the upload stays open.
        parts = proxy.add(Fault("error", method="PUT", key="u/big.bin", status=503))

        def upload_open() -> bool:
            if not parts.hits:
                return False
            uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            assert [u["Key"] for u in uploads] == ["u/big.bin"]
            return True

        code, err = await interrupt(
            s3pump("put", str(src), f"s3://{bucket}/u/", "--endpoint-url", proxy.url),
            upload_open)
    assert code == 130, err
    assert_stopped_cleanly(err)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "u/big.bin" not in keys
    assert ("DELETE", f"/{bucket}/u/big.bin") in proxy.requests


def test_permission_denied_on_the_destination_stops_the_run(
    endpoint: str, bucket: str, small_and_large: dict[str, bytes], tmp_path: Path
) -> None:
    # EACCES on the root itself would fail every key the same way: one line, exit 2,
    # nothing fetched. (A locked subdirectory fails only its own keys: test above.)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").mkdir()
    dest.chmod(0o555)
    proc = subprocess.run(
        [*WITHOUT_DAC_OVERRIDE, *s3pump("get", f"s3://{bucket}/f/", str(dest),
                                        "--endpoint-url", endpoint)],
        capture_output=True, text=True, timeout=180, check=False)
    dest.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("s3pump: error: permission denied: "), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert sorted(p.name for p in dest.iterdir()) == ["sub"]
