"""Frozen configuration objects and the endpoint precedence rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ._attributes import ObjectAttributes, SSECustomerKey
from ._errors import ConfigError

__all__ = ["CHECKSUM_ALGORITHMS", "DEFAULT_MAX_ATTEMPTS", "REQUEST_PAYERS", "ClientConfig",
           "TransferConfig", "max_attempts_is_default"]

KiB = 1024
MiB = 1024 * KiB

_ADDRESSING = ("auto", "path", "virtual")
REQUEST_PAYERS = ("requester",)  # the only value S3 defines
# Upload checksums: None follows the AWS configuration, "none" sends none.
CHECKSUM_ALGORITHMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256")


class _DefaultAttempts(int):
    """The default of :attr:`TransferConfig.max_attempts`: an ``int`` like any other, whose
    type tells that nobody chose it, so the AWS configuration (``AWS_MAX_ATTEMPTS``, the
    profile's ``max_attempts``) may replace it when the pump opens."""


DEFAULT_MAX_ATTEMPTS: int = _DefaultAttempts(6)


def max_attempts_is_default(config: TransferConfig) -> bool:
    """Whether ``config.max_attempts`` is the default (not set by the caller)."""
    return type(config.max_attempts) is _DefaultAttempts


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Where and as whom to connect.

    ``endpoint_url``/``region``/``profile``/``addressing_style`` left ``None`` follow the AWS
    configuration (environment, the shared config and credentials files), resolved as botocore
    resolves them, see :mod:`s3pump._transport._resolve`: the endpoint is the argument >
    ``AWS_ENDPOINT_URL_S3`` > ``AWS_ENDPOINT_URL`` > the profile's ``services`` section >
    the profile's ``endpoint_url`` > ``S3_ENDPOINT``. ``addressing_style`` is ``"auto"``,
    ``"path"`` or ``"virtual"`` (default: the profile's ``s3 = addressing_style``, else auto).

    Stalls: ``connect_timeout`` bounds opening a connection; ``read_timeout`` bounds every
    wait for the server: for the whole response head of a request without a body, and for
    each piece of any response. A body must also keep moving: one that delivers less than
    ``min_body_rate`` bytes per second, measured over each ``read_timeout`` seconds spent
    waiting for it, is abandoned as stalled. Every such failure is transient: the request
    is retried (``TransferConfig.max_attempts``), and each retry is logged at ``-v``.

    Access: ``sign_requests=False`` sends every request unsigned (``aws --no-sign-request``),
    for public buckets: no credentials are looked up at all (no files, no instance metadata
    service). ``request_payer="requester"`` sends ``x-amz-request-payer: requester`` on
    every request, as requester-pays buckets demand (the requester is billed).

    Rates, shared by every connection of the pump and both directions: ``bwlimit`` bytes
    per second of request and response bodies, ``tpslimit`` requests per second (retries
    included) with up to ``tpslimit_burst`` at once after a pause (token buckets; see
    :mod:`s3pump._transport.ratelimit`).

    The default minimum, 64 B/s per connection, is far below any link that works: 64
    connections (the default concurrency) sharing a 56 kbit/s modem still get ~110 B/s
    each. Only the time spent waiting for the server counts, so a slow disk on our side
    (reading paused) never looks like a stall. ``min_body_rate=0`` turns the rule off.
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    min_body_rate: float = 64.0
    sign_requests: bool = True
    request_payer: str | None = None
    # -- rates (issue 14): across all connections of the pump; None is no limit.
    bwlimit: float | None = None
    tpslimit: float | None = None
    tpslimit_burst: int = 1

    def __post_init__(self) -> None:
        self._check_rates()
        if not isinstance(self.sign_requests, bool):
            raise ConfigError(f"sign_requests must be True or False, not {self.sign_requests!r}")
        if self.request_payer is not None and self.request_payer not in REQUEST_PAYERS:
            raise ConfigError(f"request_payer must be {' or '.join(REQUEST_PAYERS)} (or None), "
                              f"not {self.request_payer!r}")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{name} must be a number of seconds above 0, not {value!r}")
        if (isinstance(self.min_body_rate, bool)
                or not isinstance(self.min_body_rate, int | float)
                or not self.min_body_rate >= 0):
            raise ConfigError(f"min_body_rate must be 0 or more bytes per second, "
                              f"not {self.min_body_rate!r}")
        if self.addressing_style is not None and self.addressing_style not in _ADDRESSING:
            raise ConfigError(
                f"addressing_style must be one of {', '.join(_ADDRESSING)}, "
                f"not {self.addressing_style!r}"
            )
        if self.endpoint_url is not None and not self.endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise ConfigError(f"endpoint URL must start with http:// or https://: "
                              f"{self.endpoint_url!r}")


    # -- rates (issue 14)
    def _check_rates(self) -> None:
        for name in ("bwlimit", "tpslimit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)
                                      or not 0 < value < float("inf")):
                raise ConfigError(f"{name} must be a number above 0 (or None: no limit), "
                                  f"not {value!r}")
        burst = self.tpslimit_burst
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigError(f"tpslimit_burst must be a whole number of requests, 1 or "
                              f"more, not {burst!r}")

@dataclass(frozen=True, slots=True)
class TransferConfig:
    """How hard to push, and how much memory that may take.

    Memory bound: at most ``concurrency`` requests are in flight, and each holds at most
    ``max(small_object_size, chunk_size)`` bytes of body in memory (small objects are read
    whole and written with one thread hop; larger ones are streamed in ``chunk_size`` pieces).
    Peak body memory is therefore about ``concurrency * max(small_object_size, chunk_size)``,
    64 x 1 MiB = 64 MiB with the defaults, whatever the number or size of the objects.
    The listing stream holds at most ``queue_size`` entries. Uploads read bodies into memory
    within a budget of ``upload_buffer_bytes`` in all (64 MiB: 8 parts of 8 MiB in flight,
    a peak RSS of ~140 MiB for large files).

    Bodies of at most ``small_object_size`` are written to disk by the event loop's own
    thread when ``inline_writes`` (a local write costs less than a thread hop), and files of
    at most 256 KiB are read for upload there too; set it to False for slow network file
    systems, so that every such write and read goes through worker threads.
    With ``inline_writes``, ranged parts of plain-HTTP answers on the lean transport (Linux)
    go socket → pipe → file with ``splice(2)`` on that thread too, never entering memory:
    such parts hold no body bytes at all, and are verified from the page cache afterwards.

    Objects of at least ``multipart_threshold`` bytes are fetched as ranged parts of
    ``part_size`` bytes (grown so that no object needs more than ``max_parts`` parts), at most
    ``part_concurrency`` of them at once per object, all within the global ``concurrency``.
    Failed requests are tried up to ``max_attempts`` times in all (default: ``AWS_MAX_ATTEMPTS``,
    else the AWS profile's ``max_attempts``, else 6) with jittered exponential backoff
    starting at ``backoff_base`` seconds, capped at ``backoff_cap``.

    Downloads check what S3 offers (a full-object CRC or SHA checksum, the MD5 ETag of a
    single-part object); a body that does not match is fetched again (within
    ``max_attempts``) and never renamed into place. Objects that offer nothing checkable are
    counted as unverified; with ``require_checksum`` they fail instead (nothing is written).

    Objects the listing shows in an archived storage class (GLACIER, DEEP_ARCHIVE: a GET
    needs a restore first) are skipped by runs and counted as ``archived``, unless
    ``force_glacier_transfer`` (then restored ones come, the others fail with
    :class:`~s3pump.ArchivedObjectError`). Uploads send a Content-Type guessed from the
    file name (``mimetypes``) when ``guess_content_type``; ``content_type`` forces one for
    every upload (it is the same setting as ``attributes.content_type``: give either).
    Every PutObject and CreateMultipartUpload also sends ``attributes`` (stored headers,
    user metadata, storage class, SSE, canned ACL); ``sse_customer_key`` (SSE-C) is sent
    with every request that reads or writes an object's bytes, uploads and downloads alike.
    Uploads send a checksum of ``checksum_algorithm`` (one of :data:`CHECKSUM_ALGORITHMS`,
    upper or lower case), which S3 verifies and stores. ``None`` (the default) follows the AWS
    configuration: CRC64NVME, or nothing when ``AWS_REQUEST_CHECKSUM_CALCULATION`` or the
    profile's ``request_checksum_calculation`` is ``when_required``. ``"none"`` sends no
    checksum header at all, for stores that refuse them (R2, older MinIO); uploads are then
    still checked against what the server answers (the MD5 ETag of a single PUT).
    SHA1/SHA256 multipart uploads are COMPOSITE (per-part checksums only).

    S3 to S3 copies on one endpoint are server-side: CopyObject up to ``copy_threshold``
    bytes (at most 5 GiB, S3's limit), UploadPartCopy parts of ``copy_part_size`` (at least
    5 MiB, grown to fit 10,000 parts) above it, ``part_concurrency`` at a time per object.

    With ``resume_uploads`` (the default), a multipart upload of a file that was killed
    (SIGKILL, a crash) resumes on the next upload of the unchanged file to the same key:
    the parts S3 holds that match the file are kept (see :mod:`s3pump._transfer.resume_upload`;
    the state is a small file in ``$XDG_STATE_HOME/s3pump/resume/``).
    """

    concurrency: int = 64
    queue_size: int = 0  # 0: twice the concurrency
    small_object_size: int = 1 * MiB
    chunk_size: int = 1 * MiB
    multipart_threshold: int = 16 * MiB
    part_size: int = 8 * MiB
    max_parts: int = 10_000
    part_concurrency: int = 16
    upload_buffer_bytes: int = 64 * MiB
    inline_writes: bool = True
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base: float = 0.1
    backoff_cap: float = 10.0
    require_checksum: bool = False
    force_glacier_transfer: bool = False
    content_type: str | None = None
    guess_content_type: bool = True
    checksum_algorithm: str | None = None
    # What uploads and copies set on the objects they write (stored headers, metadata,
    # storage class, SSE, ACL), and the SSE-C key every object read and write sends.
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    sse_customer_key: SSECustomerKey | None = None
    # -- S3 to S3 (issue 14): where server-side copies go from CopyObject to parts
    copy_threshold: int = 512 * MiB
    copy_part_size: int = 64 * MiB
    # -- resumable uploads (issue 14): see s3pump._transfer.resume_upload
    resume_uploads: bool = True

    def __post_init__(self) -> None:
        if self.checksum_algorithm is not None:
            name = str(self.checksum_algorithm).upper()
            if name != "NONE" and name not in CHECKSUM_ALGORITHMS:
                raise ConfigError(
                    f"checksum_algorithm must be one of {', '.join(CHECKSUM_ALGORITHMS)} or "
                    f"none, not {self.checksum_algorithm!r}")
            object.__setattr__(self, "checksum_algorithm", name.lower() if name == "NONE"
                               else name)
        positive = {
            "concurrency": self.concurrency,
            "small_object_size": self.small_object_size,
            "chunk_size": self.chunk_size,
            "multipart_threshold": self.multipart_threshold,
            "part_size": self.part_size,
            "max_parts": self.max_parts,
            "part_concurrency": self.part_concurrency,
            "max_attempts": self.max_attempts,
            "upload_buffer_bytes": self.upload_buffer_bytes,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, not {value!r}")
        if self.concurrency > 1024:
            raise ConfigError(f"concurrency must be at most 1024, not {self.concurrency}")
        if self.queue_size < 0:
            raise ConfigError(f"queue_size must be >= 0, not {self.queue_size}")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ConfigError("backoff times must be >= 0")
        if self.content_type is not None and (
                not self.content_type.strip() or any(c in self.content_type for c in "\r\n")):
            raise ConfigError(f"content_type must be a media type, not {self.content_type!r}")
        if not 1 <= self.copy_threshold <= 5 << 30 or not (
                5 * MiB <= self.copy_part_size <= 5 << 30):
            raise ConfigError("copy_threshold must be 1 byte to 5 GiB and copy_part_size "
                              "5 MiB to 5 GiB")
        self._fold_content_type()

    def _fold_content_type(self) -> None:
        """``content_type`` and ``attributes.content_type`` are one setting: either may be
        given (or both, alike), and both then hold it."""
        if not isinstance(self.attributes, ObjectAttributes):
            raise ConfigError(f"attributes must be an ObjectAttributes, not {self.attributes!r}")
        if self.sse_customer_key is not None and not isinstance(self.sse_customer_key,
                                                                SSECustomerKey):
            raise ConfigError("sse_customer_key must be an SSECustomerKey "
                              "(SSECustomerKey.from_text(...))")
        forced, attributed = self.content_type, self.attributes.content_type
        if forced is not None and attributed is not None and forced != attributed:
            raise ConfigError(f"content_type {forced!r} and attributes.content_type "
                              f"{attributed!r} differ: give one of them")
        if forced is not None and attributed is None:
            object.__setattr__(self, "attributes",
                               replace(self.attributes, content_type=forced))
        elif attributed is not None:
            object.__setattr__(self, "content_type", attributed)

    @property
    def stream_buffer(self) -> int:
        """Entries the listing stream may hold before the producer waits."""
        return self.queue_size or 2 * self.concurrency

    def part_size_for(self, size: int) -> int:
        """Part size for an object of ``size`` bytes: ``part_size``, grown to fit ``max_parts``."""
        part = self.part_size
        while -(-size // part) > self.max_parts:
            part *= 2
        return part

