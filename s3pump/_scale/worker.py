"""The main function of a local worker process (a fresh interpreter: never "fork").

It takes tasks from the coordinator over its pipe, one at a time, and runs each with
``anyio.run``. It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group: the
coordinator alone decides, and relays a stop over the pipe) and exits when the pipe closes or
the coordinator's pid goes away, so it never outlives the coordinator.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

import anyio

from .relay import Batch
from .task import crossing_error, run_relayed

__all__ = ["main"]


def main(fd: int, parent: int) -> None:
    """Serve tasks from the socket ``fd`` until it closes (``parent``: the coordinator's
    pid). The first message is the coordinator's ``sys.path``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(fd)
    _, path = conn.recv()
    sys.path[:] = [*path, *(p for p in sys.path if p not in path)]
    inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_read, args=(conn, parent, inbox, stop), daemon=True).start()
    conn.send(("ready", os.getpid()))

    def send(batch: Batch) -> None:
        conn.send(("progress", batch))

    async def stopped() -> bool:
        return stop.is_set()

    while True:
        _, index, attempt, fn, task, events, stopping = inbox.get()
        if stopping:
            stop.set()
        try:
            result = anyio.run(run_relayed, fn, task, index, attempt, send, stopped, events)
            conn.send(("done", index, attempt, result))
        except Exception as exc:  # the task's, or its result does not pickle
            conn.send(("error", index, attempt, crossing_error(exc, index)))


def _read(conn: Connection, parent: int, inbox: queue.Queue[tuple[Any, ...]],
          stop: threading.Event) -> None:
    while True:
        try:
            if not conn.poll(1.0):
                if os.getppid() != parent:  # the coordinator died without closing
                    os._exit(1)
                continue
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the coordinator is done (or gone)
        if message[0] == "stop":
            stop.set()
        else:
            inbox.put(message)
