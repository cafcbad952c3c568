"""Resumable multipart uploads (issue 14): a file upload killed mid-way (SIGKILL, a crash,
a power cut) continues its multipart upload next time, if the file is unchanged.

When a multipart upload of a file starts, a small state file records the upload id with
what must not change for its parts to be reused: the file's size, mtime (ns), inode and
device, the part size, the checksum algorithm and the Content-Type. It lives in
``$XDG_STATE_HOME/s3pump/resume/`` (default ``~/.local/state``), named by a hash of the
endpoint, bucket, key and the file's real path: one place for ``put``, ``upload_dir`` and
``sync`` alike (an upload's source is never written). The next upload of the same file to
the same key reads it and asks S3 for the parts it holds (ListParts):

- the file and the settings unchanged: each part S3 holds is reused only when its size is
  the local part's and its checksum (of the upload's algorithm) or, without one, its ETag
  (the part's MD5) equals the local part's, recomputed from the file now; every other part
  is uploaded (again), then the upload is completed and checked as any other;
- the file changed (or the settings): the stale upload is aborted and a new one started;
- the upload is gone (completed, aborted, expired by a lifecycle rule): a new one.

An upload that fails or is stopped cleanly (SIGINT, SIGTERM: an error or a cancellation
that s3pump sees) is aborted and its state file removed, as before: only what s3pump
cannot see (SIGKILL, a crash) leaves an upload to resume. A state file is removed once its
upload is completed or aborted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

from .._checksum import Checksum, combine, compute_for
from .._errors import AccessDeniedError, NotFoundError
from .._local.files import Compute, open_source, read_part
from .._retry import RetryPolicy
from .._session import Session
from .._transport._base import CompletedPart
from .._transport.parts import ListedPart
from .ranges import Progress, first_error, split_ranges
from .upload import Sent, Uploader

__all__ = ["ResumeRecord", "ResumeStore", "ResumingUploader", "make_uploader", "resume_dir"]

_log = logging.getLogger("s3pump.upload")
_HEX = frozenset("0123456789abcdef")


def resume_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path | None:
    """``$XDG_STATE_HOME/s3pump/resume`` (the XDG default ``~/.local/state``); None
    without a home directory (uploads are then not resumable)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid, ignore it
        try:
            base = str(Path.home() / ".local" / "state")
        except RuntimeError:
            return None
    return Path(base) / "s3pump" / "resume"


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    """One multipart upload in progress, and what it was started from."""

    endpoint: str
    bucket: str
    key: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    part_size: int
    algorithm: str | None
    full_object: bool
    content_type: str | None
    upload_id: str

    def same_source(self, st: os.stat_result, part_size: int, algorithm: str | None,
                    content_type: str | None, *, any_algorithm: bool = False) -> bool:
        """Whether the upload was started from this very file, with these settings
        (``any_algorithm``: whatever checksum algorithm it declared, so long as it declared
        one: the user chose none, and the server may have refused the default)."""
        same_algorithm = (self.algorithm == algorithm
                          or (any_algorithm and None not in (self.algorithm, algorithm)))
        return same_algorithm and (self.size, self.mtime_ns, self.inode, self.device,
                                   self.part_size, self.content_type) == (
            st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, part_size, content_type)


class ResumeStore:
    """The state files of resumable uploads, in ``root`` (made 0700 on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, endpoint: str, bucket: str, key: str, path: str) -> Path:
        digest = hashlib.sha256(json.dumps([endpoint, bucket, key, path]).encode())
        return self.root / f"{digest.hexdigest()[:32]}.json"

    def load(self, endpoint: str, bucket: str, key: str, path: str) -> ResumeRecord | None:
        """The record of an upload of ``path`` to ``key`` (None: none, or unreadable)."""
        try:
            data = json.loads(self._file(endpoint, bucket, key, path).read_bytes())
            record = ResumeRecord(**data)
        except (OSError, ValueError, TypeError):
            return None
        if (record.endpoint, record.bucket, record.key, record.path) != (
                endpoint, bucket, key, path):
            return None  # a hash collision, or a file edited by hand
        return record

    def lookup(self, endpoint: str, bucket: str, key: str, path: str
               ) -> tuple[str, ResumeRecord | None]:
        """The real path of ``path`` and the record of its upload (blocking)."""
        real = os.path.realpath(path)
        return real, self.load(endpoint, bucket, key, real)

    def save(self, record: ResumeRecord) -> None:
        """Write ``record`` (atomically: a temp file renamed into place). A failure to
        write only costs the resumability of this upload: it is logged."""
        target = self._file(record.endpoint, record.bucket, record.key, record.path)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            temp.write_text(json.dumps(asdict(record)))
            os.replace(temp, target)
        except OSError as exc:
            _log.info("cannot record the upload of %s for a resume: %s", record.path, exc)
            with contextlib.suppress(OSError):
                temp.unlink()

    def drop(self, endpoint: str, bucket: str, key: str, path: str) -> None:
        """Forget the upload of ``path`` to ``key``."""
        with contextlib.suppress(OSError):
            self._file(endpoint, bucket, key, path).unlink()


def _reusable(listed: ListedPart, view: memoryview, checksum: Checksum | None) -> bool:
    """Whether the part S3 holds is the local part: its checksum of the upload's algorithm
    (else its ETag, when it is an MD5) equals the local part's."""
    if checksum is not None:
        stored = listed.checksums.get(checksum.algorithm.lower())
        if stored:
            return stored == checksum.value
    etag = listed.etag.lower()
    if len(etag) == 32 and set(etag) <= _HEX:
        return hashlib.md5(view, usedforsecurity=False).hexdigest() == etag
    return False  # nothing to compare: sent again


class ResumingUploader(Uploader):
    """An :class:`Uploader` whose multipart uploads of files resume (see the module).

    ``endpoint`` names where the requests go (part of a state file's name)."""

    def __init__(self, *args: object, store: ResumeStore, endpoint: str,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._store = store
        self._endpoint = endpoint
        self.reused_parts = 0  # parts of all its uploads taken from S3 as they were

    async def _put_file_multipart(self, bucket: str, key: str, path: str, size: int,
                                  follow: bool) -> Sent:
        fd, st = await anyio.to_thread.run_sync(open_source, path, size, follow)
        try:
            return await self._resumable(bucket, key, path, fd, st)
        finally:
            os.close(fd)

    async def _resumable(self, bucket: str, key: str, path: str, fd: int,
                         st: os.stat_result) -> Sent:
        store, endpoint = self._store, self._endpoint
        real, record = await anyio.to_thread.run_sync(store.lookup, endpoint, bucket, key,
                                                      path)
        part_size = self._config.part_size_for(st.st_size)
        content_type = self._content_type(path)
        wanted = self._server.algorithm if self._checksums else None
        listed: dict[int, ListedPart] = {}
        resumed: ResumeRecord | None = None
        if record is not None:
            if record.same_source(st, part_size, wanted, content_type,
                                  any_algorithm=self._server.chosen is None):
                try:
                    parts = await self._request(lambda: self._transport.list_parts(
                        bucket, key, record.upload_id))
                    listed, resumed = {p.number: p for p in parts}, record
                except (NotFoundError, AccessDeniedError) as exc:
                    _log.info("the upload of %s to s3://%s/%s cannot be resumed (%s): "
                              "starting again", path, bucket, key, exc)
            else:
                _log.info("%s changed since its upload to s3://%s/%s began: aborting that "
                          "upload, starting again", path, bucket, key)
                with anyio.CancelScope(shield=True):
                    await self._abort(bucket, key, record.upload_id)
            if resumed is None:
                await anyio.to_thread.run_sync(store.drop, endpoint, bucket, key, real)
        if resumed is not None:
            upload_id, algorithm, full_object = (resumed.upload_id, resumed.algorithm,
                                                 resumed.full_object)
        else:
            with anyio.CancelScope(shield=True):  # as Uploader._multipart's
                upload_id, algorithm, full_object = await self._create(bucket, key,
                                                                       content_type)
                await anyio.to_thread.run_sync(store.save, ResumeRecord(
                    endpoint, bucket, key, real, st.st_size, st.st_mtime_ns, st.st_ino,
                    st.st_dev, part_size, algorithm, full_object, content_type, upload_id))
        compute = compute_for(algorithm) if algorithm is not None else None
        done: list[tuple[CompletedPart, int]] = []
        whole: Checksum | None = None
        try:
            await self._parts(bucket, key, path, fd, st, upload_id, listed, done, compute)
            done.sort(key=lambda item: item[0].number)
            if full_object:
                pieces = [(part.checksum, length) for part, length in done
                          if part.checksum is not None]
                whole = await anyio.to_thread.run_sync(combine, pieces)
            etag = await self._request(lambda: self._transport.complete_multipart_upload(
                bucket, key, upload_id, [part for part, _ in done], checksum=whole))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(bucket, key, upload_id)
                store.drop(endpoint, bucket, key, real)
            raise
        store.drop(endpoint, bucket, key, real)
        if whole is not None:
            await self._check_stored(bucket, key, etag, whole)
        return Sent(st.st_size, etag, st.st_mtime_ns)

    async def _parts(self, bucket: str, key: str, path: str, fd: int, st: os.stat_result,
                     upload_id: str, listed: dict[int, ListedPart],
                     done: list[tuple[CompletedPart, int]], compute: Compute | None) -> None:
        """Every part: a listed one reused when it is the local part, the others sent; at
        most ``part_concurrency`` at once, each in a pooled buffer within the budget."""
        slots = anyio.Semaphore(self._config.part_concurrency)
        reused = 0

        async def one(number: int, start: int, end: int) -> None:
            nonlocal reused
            length = end - start + 1
            try:
                async with self._pool.lease(length) as lease, self._limiter:
                    checksum = await anyio.to_thread.run_sync(
                        read_part, fd, path, lease.view, start, st, compute)
                    old = listed.get(number)
                    if old is not None and old.size == length and await anyio.to_thread.run_sync(
                            _reusable, old, lease.view, checksum):
                        reused += 1
                        self._reporter.advance(length)
                        done.append((CompletedPart(number, old.etag, checksum), length))
                        return
                    part = await self._send_part(bucket, key, upload_id, number, lease.view,
                                                 checksum)
                    done.append((part, length))
            finally:
                slots.release()

        ranges = split_ranges(st.st_size, self._config.part_size_for(st.st_size))
        try:
            async with anyio.create_task_group() as tg:
                for number, (start, end) in enumerate(ranges, 1):
                    await slots.acquire()
                    tg.start_soon(one, number, start, end)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        self.reused_parts += reused
        if reused:
            _log.info("resumed the upload of %s to s3://%s/%s: %d of %d parts were there",
                      path, bucket, key, reused, len(ranges))


def make_uploader(session: Session, retry: RetryPolicy, reporter: Progress) -> Uploader:
    """The uploader of a run or a one-object upload: resumable (see the module) unless
    ``TransferConfig.resume_uploads`` is false or no state folder can be had."""
    args = (session.transport, session.config, session.request_slots(), retry, reporter,
            session.send_checksums, session.server_checksums)
    root = resume_dir() if session.config.resume_uploads else None
    if root is None:
        return Uploader(*args)
    endpoint = session.client_config.endpoint_url or "aws"
    return ResumingUploader(*args, store=ResumeStore(root), endpoint=endpoint)
