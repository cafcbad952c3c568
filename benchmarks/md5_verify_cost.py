"""What verifying large MD5-only objects costs: `s3pump get` of 2 x 256 MiB from rclone.

The objects are files written straight into rclone's folder: single-part objects with only
an MD5 ETag, fetched as ranged parts. Two builds are compared, in interleaved rounds:
"verified" (this checkout: the parts are hashed in order as they land) and "baseline" (a
commit from before in-order hashing, given with ``--baseline-ref``, extracted with ``git
archive``: the same download with no check at all). Each run is a fresh ``python -m s3pump
get`` into an empty folder; wall time and the child's CPU (user + sys, from ``wait4``) are
taken, and the medians printed. The MD5 read-back alone (the temp file's pages hashed from
the page cache, as :class:`s3pump._transfer.inorder.FileSpans` does) is timed too.

    .venv/bin/python -m benchmarks.md5_verify_cost --baseline-ref ca8641b --rounds 3

Run it on a quiet machine: client and server share the cores.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "s3pump"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run_get(pythonpath: Path, url: str, dest: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(pythonpath), AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "s3pump", "get", "s3://bench/", str(dest),
                             "--endpoint-url", url, "--no-progress", "-q"], env=env,
                            cwd=pythonpath)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"get failed ({pythonpath})")
    return wall, usage.ru_utime + usage.ru_stime


def _hash_alone(files: list[Path]) -> float:
    """CPU seconds to MD5 the files read back with preadv in 1 MiB pieces (page cache)."""
    buffer = bytearray(MiB)
    view = memoryview(buffer)
    start = time.process_time()
    for path in files:
        digest = hashlib.md5(usedforsecurity=False)
        fd = os.open(path, os.O_RDONLY)
        offset = 0
        while n := os.preadv(fd, [view], offset):
            digest.update(view[:n])
            offset += n
        os.close(fd)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="ca8641b")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests._verify import AnonRclone

    with tempfile.TemporaryDirectory(prefix="md5cost-") as tmp:
        root = Path(tmp)
        (root / "srv" / "bench").mkdir(parents=True)
        for i in range(2):
            (root / "srv" / "bench" / f"large{i}.bin").write_bytes(
                os.urandom(args.size_mib * MiB))
        builds = {"baseline": _extract(args.baseline_ref, root / "base"), "verified": REPO}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in builds}
        with AnonRclone(root / "srv") as url:
            for _ in range(args.rounds):
                for name, path in builds.items():
                    dest = root / "dest"
                    shutil.rmtree(dest, ignore_errors=True)
                    runs[name].append(_run_get(path, url, dest))
        hashed = _hash_alone(sorted((root / "dest").iterdir()))
    print(f"2 x {args.size_mib} MiB, MD5-only, rclone, {args.rounds} interleaved rounds, medians")
    for name, got in runs.items():
        walls = [w for w, _ in got]
        cpus = [c for _, c in got]
        print(f"  {name:9s} wall {statistics.median(walls):6.2f} s   "
              f"CPU {statistics.median(cpus):6.2f} s   "
              f"(walls {', '.join(f'{w:.2f}' for w in walls)}; "
              f"CPU {', '.join(f'{c:.2f}' for c in cpus)})")
    print(f"  MD5 read-back alone: {hashed:.2f} CPU s "
          f"({hashed * 1000 / (2 * args.size_mib):.2f} ms per MiB)")


if __name__ == "__main__":
    main()
