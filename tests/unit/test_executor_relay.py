"""The batches that carry a worker's progress and events to the coordinator, and the inline
executor: counts arrive exact, batches are few, a stop reaches the tasks."""

from __future__ import annotations

import pickle
import sys
import time

import anyio
import pytest

from s3pump._errors import ConfigError, InvalidContentError, RequestError, S3PumpError
from s3pump._run.events import SyncEvent
from s3pump._scale.executors import InlineExecutor, ProcessExecutor
from s3pump._scale.link import TaskError, WorkerLostError
from s3pump._scale.ray_executor import RayExecutor
from s3pump._scale.relay import Batch, Batcher
from s3pump._scale.task import crossing_error
from tests._exec_tasks import Recorder, RecordingReporter, Toy, toy


def test_a_batch_replays_every_count_and_event() -> None:
    sent: list[Batch] = []
    batcher = Batcher(3, 1, sent.append, every=60.0, most=500)
    for i in range(1234):
        batcher.listed(i)
        batcher.advance(2)
        batcher.finished(i % 10 != 0)
        batcher(SyncEvent("transfer", key=f"k{i}"))
    batcher.listing_done()
    batcher.close()  # a task's close() is ignored
    assert sent, "a batch goes out at 500 items"
    # 4 items per object, at most 500 per batch: about 1234 * 4 / 500 batches, not 4936
    assert len(sent) <= 12
    record = Recorder()
    for batch in pickle.loads(pickle.dumps(sent)):
        batch.replay(RecordingReporter(record), record)
    assert record.listed == list(range(1234))
    assert record.advanced == 2468
    assert record.finished == [i % 10 != 0 for i in range(1234)]
    assert [e.key for e in record.events] == [f"k{i}" for i in range(1234)]
    assert sent[-1].listing_done and not any(b.listing_done for b in sent[:-1])
    assert record.closed == 0


def test_a_quiet_batch_is_due_after_its_interval() -> None:
    sent: list[Batch] = []
    batcher = Batcher(0, 1, sent.append, every=0.05, most=500)
    batcher.finished(True)
    assert not sent and not batcher.due()
    time.sleep(0.06)
    assert batcher.due()
    batcher.flush()
    assert [b.finished for b in sent] == [[True]]
    batcher.flush()  # nothing gathered: nothing sent
    assert len(sent) == 1


async def test_inline_runs_in_order_with_the_coordinators_reporter_and_stop() -> None:
    record = Recorder()
    reporter = RecordingReporter(record)
    results = await InlineExecutor().run(
        toy, [Toy(i, objects=5) for i in range(3)], reporter, record, anyio.Event())
    assert [r.index for r in results] == [0, 1, 2]
    assert len(record.listed) == 15 and len(record.finished) == 15 and len(record.events) == 15
    stop = anyio.Event()
    stop.set()
    stopped = await InlineExecutor().run(toy, [Toy(0, until_stop=True)], reporter, None, stop)
    assert stopped[0].interrupted


def test_errors_cross_from_a_worker_or_say_what_they_were() -> None:
    crossed = crossing_error(RequestError("boom", status=500, code="InternalError"), 4)
    assert isinstance(crossed, RequestError) and crossed.status == 500
    assert "in the worker of task 4" in "".join(crossed.__notes__)
    # An error that does not pickle (a class only the worker has) does not cross: its text
    # still does.
    class LocalError(S3PumpError):
        pass

    fallback = crossing_error(LocalError("not JSON"), 2)
    assert isinstance(fallback, TaskError)
    assert str(fallback) == "task 2 raised LocalError: not JSON"
    whole = crossing_error(InvalidContentError("not JSON", uri="s3://b/k"), 2)
    assert isinstance(whole, InvalidContentError) and whole.uri == "s3://b/k"
    lost = pickle.loads(pickle.dumps(WorkerLostError("gone", task=3, attempts=3)))
    assert (str(lost), lost.task, lost.attempts) == ("gone", 3, 3)


def test_process_options_are_checked() -> None:
    for bad in ({"processes": 0}, {"processes": 2, "retries": -1}):
        try:
            ProcessExecutor(**bad)
        except ConfigError as exc:
            assert "at least" in str(exc)
        else:
            raise AssertionError(bad)


async def test_without_ray_the_ray_executor_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError) as caught:
        await RayExecutor().run(toy, [Toy(0)], RecordingReporter(Recorder()), None,
                                anyio.Event())
    assert str(caught.value) == "the Ray executor needs Ray: pip install 's3pump[ray]'"
