"""Run one client command and measure it: wall time, CPU of its process tree, peak RSS.

CPU comes from `os.wait4` on the child: user+sys include every descendant the child waited for
(the whole tree for ordinary tools). Peak RSS is ru_maxrss, the largest single process in that
tree (not the sum: for a tool that forks workers it under-states the total). It is taken through
GNU time (/usr/bin/time -f %M), because a child's ru_maxrss also counts the pages of the parent it
was forked from, and the harness is a Python process of its own; without GNU time the figure
includes that floor and says so.
Server CPU (rclone) is sampled with psutil before and after, to see when the server is the limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

GNU_TIME = Path("/usr/bin/time")


@dataclass
class Measurement:
    ok: bool
    wall_s: float
    cpu_s: float  # user + sys of the client's process tree
    user_s: float
    sys_s: float
    peak_rss_mib: float
    server_cpu_s: float
    returncode: int | None
    error: str | None = None
    rss_source: str = "gnu-time"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cpu(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    try:
        t = proc.cpu_times()
    except Exception:  # psutil.Error: the server is gone
        return 0.0
    return float(t.user + t.system)


def _tail(path: Path, limit: int = 600) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    text = data[-limit:].decode("utf-8", "replace").strip()
    return " ".join(text.split())


def run(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    stdout_path: Path,
    stderr_path: Path,
    timeout_s: float,
    server_pid: int | None,
) -> Measurement:
    """Run `argv` to completion (or kill its process group at the timeout) and measure it."""
    import psutil  # the harness's venv has it; the project's tests import this module without

    server = psutil.Process(server_pid) if server_pid else None
    status: dict[str, Any] = {}
    rss_file = stdout_path.with_suffix(".rss")
    rss_file.unlink(missing_ok=True)
    if GNU_TIME.exists():
        argv = [str(GNU_TIME), "-q", "-o", str(rss_file), "-f", "%M", *argv]

    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        server_before = _cpu(server)
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True
            )
        except OSError as exc:
            return Measurement(False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, f"cannot start: {exc}")

        def reap() -> None:
            _pid, wstatus, usage = os.wait4(proc.pid, 0)
            status["ended"] = time.perf_counter()
            status["wstatus"] = wstatus
            status["usage"] = usage

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        try:
            waiter.join(timeout_s)
        except BaseException:  # Ctrl-C or SIGTERM: take the tool down with us
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        timed_out = waiter.is_alive()
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            waiter.join()
        server_cpu = _cpu(server) - server_before

    wstatus = status["wstatus"]
    usage = status["usage"]
    code = os.waitstatus_to_exitcode(wstatus)
    proc.returncode = code  # reaped by wait4; tell Popen so it does not try again
    wall = status["ended"] - started
    error: str | None = None
    if timed_out:
        error = f"timed out after {timeout_s:.0f}s"
    elif code != 0:
        error = f"exit code {code}: {_tail(stderr_path) or _tail(stdout_path)}"
    peak_rss_mib = usage.ru_maxrss / 1024.0
    rss_source = "wait4 (includes the harness's RSS at fork)"
    try:
        peak_rss_mib = int(rss_file.read_text().split()[-1]) / 1024.0
        rss_source = "gnu-time"
    except (OSError, ValueError, IndexError):
        pass
    return Measurement(
        ok=error is None,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mib=peak_rss_mib,
        server_cpu_s=server_cpu,
        returncode=code,
        error=error,
        rss_source=rss_source,
    )
