"""s3pump._run.outcome: the one table of errors that stop a run, and the one recorder."""

from __future__ import annotations

import errno

import pytest

from s3pump._errors import (
    AccessDeniedError,
    IntegrityError,
    LocalIOError,
    NoSuchBucketError,
    NoSuchKeyError,
    S3PumpError,
    TransientError,
    UnsafeKeyError,
)
from s3pump._integrity import Verdict
from s3pump._models import TransferResult
from s3pump._run.events import SyncEvent
from s3pump._run.outcome import Outcomes, stops_run
from s3pump._run.progress import NullReporter

DISK_FULL = LocalIOError("no space left", errno.ENOSPC)
READ_ONLY = LocalIOError("read-only file system", errno.EROFS)
QUOTA = LocalIOError("quota exceeded", errno.EDQUOT)


@pytest.mark.parametrize("direction", ["down", "up"])
@pytest.mark.parametrize("any_success", [False, True])
@pytest.mark.parametrize("exc", [NoSuchBucketError("no bucket", bucket="b"), DISK_FULL,
                                 READ_ONLY, QUOTA])
def test_errors_that_stop_every_run(exc: S3PumpError, direction: str, any_success: bool
                                    ) -> None:
    assert stops_run(exc, direction, any_success)  # type: ignore[arg-type]


@pytest.mark.parametrize("direction", ["down", "up"])
@pytest.mark.parametrize("any_success", [False, True])
@pytest.mark.parametrize("exc", [
    UnsafeKeyError("../x", "outside"), IntegrityError("mismatch"), TransientError("503"),
    NoSuchKeyError("gone", bucket="b", key="k"), LocalIOError("permission denied",
                                                                errno.EACCES),
    LocalIOError("in the way"),
])
def test_errors_that_are_one_objects(exc: S3PumpError, direction: str, any_success: bool
                                     ) -> None:
    assert not stops_run(exc, direction, any_success)  # type: ignore[arg-type]


def test_access_denied_stops_an_upload_only_before_its_first_success() -> None:
    denied = AccessDeniedError("access denied", bucket="b", key="k")
    assert stops_run(denied, "up", any_success=False)
    assert not stops_run(denied, "up", any_success=True)
    # A GET refused is one object's: policies and KMS keys refuse some objects only.
    assert not stops_run(denied, "down", any_success=False)
    assert not stops_run(denied, "down", any_success=True)


def test_outcomes_record_result_events_and_verdicts() -> None:
    events: list[SyncEvent] = []
    result = TransferResult()
    outcomes = Outcomes(result, NullReporter(), events.append, "up")
    outcomes.start("/src", "s3://b/p/")
    outcomes.listed(3)
    denied = AccessDeniedError("access denied", bucket="b", key="p/a")
    with pytest.raises(AccessDeniedError):  # before any success: the run stops
        outcomes.error(denied, "/src/a", key="p/a", path="/src/a")
    outcomes.transferred("p/b", "/src/b", 5, "new")
    outcomes.error(denied, "/src/a", key="p/a", path="/src/a")  # now one object's
    outcomes.skipped("p/c", "/src/c", "unchanged")
    outcomes.deleted("p/d", "")
    outcomes.verdict("p/b", Verdict("verified"))
    outcomes.verdict("p/e", Verdict("unverifiable", reason="nothing to check"))
    outcomes.end()
    assert (result.listed, result.transferred, result.bytes, result.skipped,
            result.deleted, result.verified, result.unverified) == (3, 1, 5, 1, 1, 1, 1)
    assert [(f.key, f.error) for f in result.failed] == [("/src/a", "AccessDeniedError")]
    assert [e.event for e in events] == ["start", "transfer", "fail", "skip", "delete", "end"]
    assert events[-1].detail == {"summary": result.to_dict()}


def test_outcomes_without_a_sink_count_all_the_same() -> None:
    result = TransferResult(dry_run=True)
    outcomes = Outcomes(result, NullReporter(), None, "down")
    outcomes.transferred("k", "/d/k", 7)
    outcomes.failed("j", "why", "UnsafeKeyError", key="j")
    assert (result.transferred, result.bytes, len(result.failed)) == (1, 7, 1)
    assert outcomes.any_success
