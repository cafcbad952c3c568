"""Benchmark datasets: seeded random objects written straight into rclone's served directory.

Writing files into the directory `rclone serve s3` serves is much faster than uploading them, and
rclone serves them as ordinary objects (MD5 ETags, listings). Each dataset has a manifest
(key, size, sha256) kept next to the data, so a run can verify what a tool downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

BUCKET = "bench"
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
GEN_CHUNK = 16 * MIB
PER_DIR = 100  # keys are grouped into "directories" of this many, as real datasets are


@dataclass(frozen=True)
class DatasetSpec:
    """`count` objects of `size` bytes each; `listing_only` datasets are zero-byte keys.

    `server` is "rclone" (files written into its directory: MD5 ETags only) or "seaweed"
    (uploaded to SeaweedFS, with a CRC64NVME full-object checksum if `checksum` says so).
    """

    name: str
    count: int
    size: int
    listing_only: bool = False
    server: str = "rclone"
    checksum: str = ""  # "" (MD5 ETag only) or "CRC64NVME"

    @property
    def prefix(self) -> str:
        return f"{self.name}-{self.count}x{self.size}/"

    @property
    def total_bytes(self) -> int:
        return self.count * self.size

    def describe(self) -> str:
        text = f"{self.count:,} x {_human(self.size)}"
        if self.server == "seaweed":
            text += f", SeaweedFS, {self.checksum or 'MD5'}"
        return text


def _human(n: int) -> str:
    if n == 0:
        return "0 B"
    for unit, factor in (("GiB", 1024**3), ("MiB", MIB), ("KiB", KIB)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} B"


def _checksum_pair(name: str, count: int, size: int) -> dict[str, DatasetSpec]:
    """The same objects twice on SeaweedFS: MD5 ETag only, and with a CRC64NVME checksum."""
    return {
        f"sw-{name}": DatasetSpec(f"sw-{name}", count, size, server="seaweed"),
        f"sw-{name}-crc": DatasetSpec(
            f"sw-{name}-crc", count, size, server="seaweed", checksum="CRC64NVME"
        ),
    }


# "one" is the start-up case: a single object, fetched by key (`get s3://b/KEY DIR/`).
FULL: dict[str, DatasetSpec] = {
    "one": DatasetSpec("one", 1, 16 * KIB),
    "small": DatasetSpec("small", 5000, 16 * KIB),
    "medium": DatasetSpec("medium", 200, 1 * MIB),
    "large": DatasetSpec("large", 2, 256 * MIB),
    "xl": DatasetSpec("xl", 2, 1 * GIB),
    **_checksum_pair("medium", 200, 1 * MIB),
    **_checksum_pair("large", 2, 256 * MIB),
    "list50k": DatasetSpec("list50k", 50_000, 0, listing_only=True),
}
QUICK: dict[str, DatasetSpec] = {
    "one": DatasetSpec("one", 1, 16 * KIB),
    "small": DatasetSpec("small", 1000, 16 * KIB),
    "medium": DatasetSpec("medium", 50, 1 * MIB),
    "large": DatasetSpec("large", 1, 64 * MIB),
    "xl": DatasetSpec("xl", 1, 128 * MIB),
    **_checksum_pair("medium", 50, 1 * MIB),
    **_checksum_pair("large", 1, 64 * MIB),
    "list50k": DatasetSpec("list50k", 10_000, 0, listing_only=True),
}


@dataclass(frozen=True)
class Manifest:
    spec: DatasetSpec
    bucket: str
    objects: tuple[tuple[str, int, str], ...]  # (key relative to the prefix, size, sha256 hex)


def _rel_key(spec: DatasetSpec, i: int) -> str:
    if spec.count <= PER_DIR:
        return f"obj{i:06d}.bin"
    return f"part{i // PER_DIR:04d}/obj{i:06d}.bin"


def _write_object(path: Path, spec: DatasetSpec, i: int, seed: int) -> str:
    """Write object `i` (seeded random bytes, in chunks: randbytes has a 2 Gbit limit); sha256."""
    rng = random.Random(f"{seed}/{spec.prefix}/{i}")
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = spec.size
        while left > 0:
            chunk = rng.randbytes(min(left, GEN_CHUNK))
            f.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _manifest_path(root: Path, spec: DatasetSpec) -> Path:
    return root.parent / "manifests" / f"{BUCKET}-{spec.prefix.rstrip('/')}.json"


def stored(spec: DatasetSpec, root: Path, seed: int = 1) -> Manifest | None:
    """The manifest written by `ensure` for this spec and seed, if any (files unchecked)."""
    mpath = _manifest_path(root, spec)
    if not mpath.exists():
        return None
    doc = json.loads(mpath.read_text())
    if doc.get("seed") != seed or doc.get("prefix") != spec.prefix:
        return None
    return Manifest(spec, BUCKET, tuple((k, int(s), h) for k, s, h in doc["objects"]))


def manifest_path(root: Path, spec: DatasetSpec) -> Path:
    """Where `ensure` keeps the manifest of `spec` (beside `root`, in `manifests/`)."""
    return _manifest_path(root, spec)


def ensure(spec: DatasetSpec, root: Path, seed: int = 1) -> Manifest:
    """Create the dataset under `root/BUCKET/prefix` unless an intact copy is already there.

    Must run before the server starts: rclone caches directory listings for minutes.
    """
    data_dir = root / BUCKET / spec.prefix
    mpath = _manifest_path(root, spec)
    if mpath.exists():
        doc = json.loads(mpath.read_text())
        objects = tuple((k, int(s), h) for k, s, h in doc["objects"])
        if doc.get("seed") == seed and _intact(data_dir, objects):
            return Manifest(spec, BUCKET, objects)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    made: list[tuple[str, int, str]] = []
    for i in range(spec.count):
        rel = _rel_key(spec, i)
        made.append((rel, spec.size, _write_object(data_dir / rel, spec, i, seed)))
    mpath.parent.mkdir(parents=True, exist_ok=True)
    mpath.write_text(json.dumps({"seed": seed, "prefix": spec.prefix, "objects": made}))
    return Manifest(spec, BUCKET, tuple(made))


def _intact(data_dir: Path, objects: tuple[tuple[str, int, str], ...]) -> bool:
    try:
        return all((data_dir / rel).stat().st_size == size for rel, size, _ in objects)
    except OSError:
        return False


def _walk_files(dest: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(dest):
        for name in files:
            full = Path(dirpath) / name
            found[full.relative_to(dest).as_posix()] = full.stat().st_size
    return found


def verify(manifest: Manifest, dest: Path) -> str | None:
    """None if `dest` holds exactly the dataset (names, sizes, sha256), else what is wrong."""
    if not dest.is_dir():
        return f"destination {dest} was not created"
    found = _walk_files(dest)
    expected = {rel: size for rel, size, _ in manifest.objects}
    missing = expected.keys() - found.keys()
    extra = found.keys() - expected.keys()
    if missing or extra:
        total = sum(found.values())
        hint = ""
        if extra:
            hint = f"; e.g. unexpected {sorted(extra)[0]!r}"
        elif missing:
            hint = f"; e.g. missing {sorted(missing)[0]!r}"
        return (
            f"{len(found)} files / {total:,} bytes, expected {len(expected)} files / "
            f"{manifest.spec.total_bytes:,} bytes ({len(missing)} missing, {len(extra)} unexpected"
            f"{hint})"
        )
    for rel, size, digest in manifest.objects:
        if found[rel] != size:
            return f"{rel}: {found[rel]} bytes, expected {size}"
        with open(dest / rel, "rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != digest:
                return f"{rel}: content differs from the dataset (sha256)"
    return None
