"""Unit tests for s3pump._errors: the exception tree and the translation functions."""

from __future__ import annotations

import errno

import pytest

import s3pump._errors as errors_module
from s3pump._errors import (
    AccessDeniedError,
    BadURIError,
    ConfigError,
    DestinationExistsError,
    IntegrityError,
    LocalIOError,
    NoSuchBucketError,
    NoSuchKeyError,
    NotFoundError,
    ObjectChangedError,
    RequestError,
    S3PumpError,
    ThrottledError,
    TransientError,
    UnsafeKeyError,
    error_from_oserror,
    error_from_response,
)

# --- the class hierarchy -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (ConfigError, (S3PumpError, ValueError)),
        (BadURIError, (S3PumpError, ValueError)),
        (UnsafeKeyError, (S3PumpError,)),
        (RequestError, (S3PumpError,)),
        (NotFoundError, (RequestError,)),
        (NoSuchBucketError, (NotFoundError, RequestError)),
        (NoSuchKeyError, (NotFoundError, RequestError)),
        (AccessDeniedError, (RequestError,)),
        (ObjectChangedError, (RequestError,)),
        (TransientError, (RequestError,)),
        (ThrottledError, (TransientError, RequestError)),
        (IntegrityError, (S3PumpError,)),
        (DestinationExistsError, (S3PumpError,)),
        (errors_module.MirrorBusyError, (S3PumpError,)),
        (LocalIOError, (S3PumpError, OSError)),
    ],
)
def test_hierarchy(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, S3PumpError)


def test_every_exported_exception_is_an_s3pump_error() -> None:
    classes = [getattr(errors_module, name) for name in errors_module.__all__
               if name.endswith("Error")]
    assert len(classes) == 20  # with InvalidContentError, ListingError, ArchivedObjectError, ...
    for cls in classes:
        assert issubclass(cls, S3PumpError), cls


@pytest.mark.parametrize("cls", [UnsafeKeyError, NotFoundError, AccessDeniedError,
                                 IntegrityError, ObjectChangedError, TransientError])
def test_non_value_errors_are_not_value_errors(cls: type[Exception]) -> None:
    assert not issubclass(cls, ValueError)


def test_non_transient_request_errors_are_not_transient() -> None:
    for cls in (NotFoundError, NoSuchKeyError, AccessDeniedError, ObjectChangedError):
        assert not issubclass(cls, TransientError)


def test_unsafe_key_error_attributes() -> None:
    err = UnsafeKeyError("../x", "'..' segment")
    assert (err.key, err.reason) == ("../x", "'..' segment")
    assert str(err) == "unsafe key '../x': '..' segment"


def test_request_error_attributes() -> None:
    err = RequestError("boom", status=500, code="InternalError", bucket="b", key="k")
    assert str(err) == "boom"
    assert (err.status, err.code, err.bucket, err.key) == (500, "InternalError", "b", "k")
    bare = RequestError("x")
    assert (bare.status, bare.code, bare.bucket, bare.key) == (None, None, None, None)


def test_local_io_error_is_an_oserror_with_errno() -> None:
    err = LocalIOError("no space left on device: /d/f", errno.ENOSPC)
    assert str(err) == "no space left on device: /d/f"
    assert err.errno == errno.ENOSPC
    assert isinstance(err, OSError)
    assert LocalIOError("x").errno is None


# --- error_from_response -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "bucket", "key", "cls", "message"),
    [
        (404, "NoSuchBucket", "bkt", None, NoSuchBucketError, "no such bucket: s3://bkt"),
        (404, "NoSuchBucket", "bkt", "k", NoSuchBucketError, "no such bucket: s3://bkt"),
        (404, "NoSuchKey", "bkt", "a/b", NoSuchKeyError, "no such key: s3://bkt/a/b"),
        (404, "NotFound", "bkt", "a/b", NoSuchKeyError, "no such key: s3://bkt/a/b"),
        (404, None, "bkt", "a/b", NoSuchKeyError, "no such key: s3://bkt/a/b"),
        (404, None, "bkt", None, NotFoundError, "not found: s3://bkt (404: details here)"),
        (404, "NoSuchUpload", "bkt", None, NotFoundError, "not found: s3://bkt (NoSuchUpload"),
        (403, "AccessDenied", "bkt", "k", AccessDeniedError, "access denied: s3://bkt/k"),
        (403, None, "bkt", None, AccessDeniedError, "access denied: s3://bkt (403: details here)"),
        (401, None, "bkt", None, AccessDeniedError, "access denied"),
        (403, "InvalidAccessKeyId", "bkt", None, AccessDeniedError, "InvalidAccessKeyId"),
        (403, "SignatureDoesNotMatch", "bkt", "k", AccessDeniedError, "SignatureDoesNotMatch"),
        (400, "AccessDenied", "bkt", "k", AccessDeniedError, "access denied"),
        (412, "PreconditionFailed", "bkt", "k", ObjectChangedError,
         "object changed while reading: s3://bkt/k"),
        (412, None, "bkt", "k", ObjectChangedError, "object changed"),
        (503, "SlowDown", "bkt", "k", ThrottledError, "throttled by S3: s3://bkt/k (SlowDown"),
        (503, None, "bkt", "k", ThrottledError, "throttled by S3"),
        (503, "ServiceUnavailable", "bkt", "k", ThrottledError, "throttled"),
        (429, None, "bkt", "k", ThrottledError, "throttled"),
        (400, "Throttling", "bkt", None, ThrottledError, "throttled"),
        (400, "ThrottlingException", "bkt", None, ThrottledError, "throttled"),
        (400, "RequestLimitExceeded", "bkt", None, ThrottledError, "throttled"),
        (400, "TooManyRequests", "bkt", None, ThrottledError, "throttled"),
        (500, "InternalError", "bkt", "k", TransientError, "server error: s3://bkt/k"),
        (500, None, "bkt", "k", TransientError, "server error"),
        (502, None, "bkt", "k", TransientError, "server error"),
        (504, None, "bkt", "k", TransientError, "server error"),
        (400, "RequestTimeout", "bkt", "k", TransientError, "server error"),
        (400, "InvalidArgument", "bkt", "k", RequestError, "request failed: s3://bkt/k"),
        (409, "BucketAlreadyExists", "bkt", None, RequestError, "BucketAlreadyExists"),
        (400, "EntityTooLarge", "bkt", "k", RequestError, "EntityTooLarge"),
    ],
)
def test_error_from_response(
    status: int, code: str | None, bucket: str, key: str | None, cls: type[RequestError],
    message: str,
) -> None:
    err = error_from_response(status, code, "details here", bucket=bucket, key=key)
    assert type(err) is cls
    assert message in str(err)
    assert (err.status, err.code, err.bucket, err.key) == (status, code, bucket, key)


def test_error_from_response_includes_code_and_message() -> None:
    err = error_from_response(400, "InvalidArgument", "Part number must be an integer",
                              bucket="b", key="k")
    assert str(err) == "request failed: s3://b/k (InvalidArgument: Part number must be an integer)"


def test_error_from_response_transient_is_retryable_class() -> None:
    # 4xx client errors must never be classed as transient (they would be retried).
    for status in (400, 403, 404, 405, 409, 411, 412, 416):
        err = error_from_response(status, None, None, bucket="b", key="k")
        assert not isinstance(err, TransientError), status


def test_not_found_code_without_key_is_not_no_such_key() -> None:
    # Bug: the reference transport maps a bodiless HEAD 404 to code "NotFound"; for a
    # bucket-level request (key None) error_from_response then returns NoSuchKeyError with
    # the message "no such key: s3://bkt", naming a key that was never asked for.
    err = error_from_response(404, "NotFound", None, bucket="bkt", key=None)
    assert isinstance(err, NotFoundError)
    assert not isinstance(err, NoSuchKeyError)
    assert "no such key" not in str(err)
    assert "s3://bkt" in str(err)


def test_request_time_too_skewed_as_s3_sends_it_is_transient() -> None:
    # Bug: "RequestTimeTooSkewed" is listed in _TRANSIENT_CODES, but S3 answers it with
    # HTTP 403, and the 401/403 -> AccessDeniedError check comes first, so the entry is dead
    # for real S3 responses and a clock-skew error is reported as "access denied".
    err = error_from_response(403, "RequestTimeTooSkewed", "The difference between the request "
                              "time and the current time is too large.", bucket="b", key="k")
    assert isinstance(err, TransientError)
    assert "RequestTimeTooSkewed" in str(err)


# --- error_from_oserror ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "operation not permitted"),
        (errno.ENAMETOOLONG, "file name too long"),
        (errno.EROFS, "read-only file system"),
        (errno.EISDIR, "a directory is in the way"),
        (errno.ENOTDIR, "a file is in the way of a directory"),
        (errno.EEXIST, "a file is in the way of a directory"),
    ],
)
def test_error_from_oserror_known_errnos(number: int, reason: str) -> None:
    err = error_from_oserror(OSError(number, "strerror text"), "/dest/a/b")
    assert type(err) is LocalIOError
    assert str(err) == f"{reason}: /dest/a/b"
    assert err.errno == number


def test_error_from_oserror_specific_subclasses() -> None:
    err = error_from_oserror(PermissionError(errno.EACCES, "Permission denied"), "/p")
    assert str(err) == "permission denied: /p"
    err = error_from_oserror(IsADirectoryError(errno.EISDIR, "Is a directory"), "/d")
    assert str(err) == "a directory is in the way: /d"


def test_error_from_oserror_unknown_errno_uses_strerror() -> None:
    err = error_from_oserror(OSError(errno.EIO, "Input/output error"), "/x")
    assert str(err) == "Input/output error: /x"
    assert err.errno == errno.EIO


def test_error_from_oserror_without_errno_uses_type_name() -> None:
    err = error_from_oserror(FileNotFoundError(), "/x")
    assert str(err) == "FileNotFoundError: /x"
    assert err.errno is None


def test_error_from_response_without_message_shows_the_status() -> None:
    err = error_from_response(404, None, None, bucket="b")
    assert str(err) == "not found: s3://b (404)"


def test_every_error_crosses_a_process_boundary_whole() -> None:
    """A partition's error reaches its coordinator pickled (issue 15): same class, message
    and fields, whatever the constructor takes."""
    import pickle

    from s3pump._errors import (
        InvalidContentError,
        LocalIOError,
        NoSuchKeyError,
        UnsafeKeyError,
    )

    errors = [UnsafeKeyError("../x", "leaves the destination"),
              InvalidContentError("not JSON", uri="s3://b/k"),
              LocalIOError("no space left on device: /d/x", 28),
              NoSuchKeyError("no such key", status=404, code="NoSuchKey", bucket="b", key="k")]
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert vars(back) == vars(error)
    assert pickle.loads(pickle.dumps(errors[2])).errno == 28
