"""Partitions on local processes (issue 15): the 200,000-object mirror with 1, 2 and 4 processes.

    scripts/bench partitions [--rounds 2] [--tools s3pump-1,s3pump-2,s3pump-4,s5cmd]

rclone serves 200 prefixes x 1,000 zero-byte objects (`tree200x1000`, made as
`scripts/bench listing-parallel` makes it) on 127.0.0.1; client and server share this
machine's cores. Each s3pump run mirrors the prefix into an empty folder (the first mirror:
200,000 GETs and files) and then again (the unchanged re-run: the listing and one manifest
lookup per page, what a nightly job costs), in interleaved rounds; s5cmd runs the unchanged
re-run only, on a hard-linked copy of s3pump's mirror (its first mirror took 330 s in
`benchmarks/results/latest-mirror200k.md`). Per run:
wall time, CPU (user+sys of the whole process tree, worker processes included) and CPU per
object, peak RSS of the coordinator, and requests from s3pump's `--json` (in the re-run, every
request is a listing request). The destination is checked after each first mirror (200,000
files). Credentials come from `~/.aws` files in the harness's home.

Results: `benchmarks/results/latest-partitions.{md,json}` (`--out` to rename), with a paper
estimate of 100M keys on 1, 10 and 100 machines computed from the measured figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import measure, server
from benchmarks.listing_parallel import ensure_shape
from benchmarks.peers import Paths
from benchmarks.run import INSTALL_KEY, git_head, log, machine_info

ROOT = Path(__file__).resolve().parent.parent
DATASET = "tree200x1000"
OBJECTS = 200_000
Argv = list[str]


def _s3pump(processes: int) -> Callable[[Paths, str, str, str], Argv]:
    def argv(p: Paths, url: str, src: str, dest: str) -> Argv:
        extra = ["--processes", str(processes)] if processes > 1 else []
        return [str(p.s3pump), "sync", src, dest, "--endpoint-url", url, "--json", "-q",
                *extra]

    return argv


def _s5cmd(p: Paths, url: str, src: str, dest: str) -> Argv:
    return [str(p.bench / "venv-peers" / "bin" / "s5cmd"), "--log", "error", "--endpoint-url",
            url, "sync", src + "*", dest + "/"]


TOOLS: dict[str, tuple[str, Callable[[Paths, str, str, str], Argv], bool]] = {
    # name: (label, argv, runs the first mirror too)
    "s3pump-1": ("s3pump sync, one process", _s3pump(1), True),
    "s3pump-2": ("s3pump sync --processes 2", _s3pump(2), True),
    "s3pump-4": ("s3pump sync --processes 4", _s3pump(4), True),
    "s5cmd": ("s5cmd sync (Go), re-run only", _s5cmd, False),
}


def _count_files(root: Path) -> int:
    return sum(len([f for f in files if not f.startswith(".")])
               for path, _dirs, files in os.walk(root) if ".s3pump" not in path)


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _table(records: list[dict[str, Any]], tools: list[str]) -> list[str]:
    lines = ["| run | tool | median wall (s) | CPU user+sys (s) | CPU per object (us) "
             "| peak RSS (MiB) | requests | listing requests | runs ok |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for phase in ("first", "rerun"):
        for tool in tools:
            every = [r for r in records if r["tool"] == tool and r["phase"] == phase]
            ok = [r for r in every if r.get("ok")]
            if not every:
                continue
            if not ok:
                lines.append(f"| {phase} | {tool} | failed | | | | | | 0/{len(every)} |")
                continue
            wall, cpu = _median(ok, "wall_s"), _median(ok, "cpu_s")
            assert wall is not None and cpu is not None
            requests = _median(ok, "requests")
            listing = _median(ok, "listing_requests")
            lines.append(
                f"| {phase} | {tool} | {wall:.1f} | {cpu:.1f} | {cpu / OBJECTS * 1e6:.0f} "
                f"| {_median(ok, 'peak_rss_mib') or 0:.0f} "
                f"| {'' if requests is None else f'{requests:,.0f}'} "
                f"| {'' if listing is None else f'{listing:,.0f}'} | {len(ok)}/{len(every)} |")
    return lines


def _estimate(records: list[dict[str, Any]]) -> list[str]:
    """100M keys on 1, 10 and 100 machines, from the measured re-runs (listing only)."""
    rerun = [r for r in records if r["phase"] == "rerun" and r.get("ok")
             and r["tool"].startswith("s3pump")]
    one = [r for r in rerun if r["tool"] == "s3pump-1"]
    if not one:
        return []
    listing_one = _median(one, "listing_requests") or 0.0
    per_key_s = (_median(one, "wall_s") or 0.0) / OBJECTS
    worst = max((_median([r for r in rerun if r["tool"] == t], "listing_requests") or 0.0)
                / listing_one for t in {r["tool"] for r in rerun}) if listing_one else 1.0
    keys = 100_000_000
    base = keys / 1000  # ListObjectsV2 returns 1,000 keys a page
    price = 0.005 / 1000  # S3 Standard LIST, USD per request (us-east-1)
    lines = ["| machines | way | listing requests | $ per night (LIST) | listing time (h) |",
             "|---:|---|---:|---:|---:|"]
    for machines in (1, 10, 100):
        for way, requests, hours in (
                ("partitions (this issue)", base * worst,
                 keys * per_key_s / machines / 3600),
                ("--shard before (hash: every shard lists all)", base * machines,
                 keys * per_key_s / 3600),
        ):
            if machines == 1 and way.startswith("--shard"):
                continue
            lines.append(f"| {machines} | {way} | {requests:,.0f} | {requests * price:,.2f} "
                         f"| {hours:.1f} |")
    lines.append(f"| 1 | s5cmd (one paginator) | {base:,.0f} | {base * price:,.2f} "
                 "| 6-8 (s5cmd #497: 145M objects) |")
    lines += ["", f"Per key: {per_key_s * 1e6:.1f} us of an unchanged re-run on one process "
              f"(listing, decisions, manifest), measured above; partitions list at most "
              f"{worst:.2f}x the requests of one process (measured above). Time assumes the "
              "server keeps up with every machine (S3 scales by prefix; rclone here does not) "
              "and each machine runs what one process ran here."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench partitions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", default="latest-partitions")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    tools = [t for t in args.tools.split(",") if t]
    for tool in tools:
        if tool not in TOOLS:
            parser.error(f"unknown tool {tool} (one of {', '.join(TOOLS)})")
    paths = Paths(ROOT)
    home = paths.bench / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = server.client_env(home=home)
    logs = paths.bench / "logs"
    work = paths.bench / "runs" / "partitions"
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    info = machine_info()
    manifest = ensure_shape(DATASET, paths.bench / "s3root")
    src = f"s3://{manifest.bucket}/{manifest.spec.prefix}"
    records: list[dict[str, Any]] = []
    endpoint = server.start_endpoint(paths.rclone, paths.bench / "s3root", logs,
                                     extra_args=("--dir-cache-time", "1h"))
    try:
        for rnd in range(1, args.rounds + 1):
            shift = (rnd - 1) % len(tools)
            for tool in tools[shift:] + tools[:shift]:
                _label, command, first = TOOLS[tool]
                dest = work / tool
                phases = ["first", "rerun"] if first else ["rerun"]
                if first or not dest.exists():
                    shutil.rmtree(dest, ignore_errors=True)
                    os.sync()
                    time.sleep(0.5)
                if not first and not dest.exists():  # a re-run needs a mirror to compare:
                    # s3pump's, hard-linked (s5cmd compares sizes and times only).
                    done = next((work / t for t in TOOLS if TOOLS[t][2]
                                 and (work / t).is_dir()), None)
                    if done is None:
                        phases = ["seed", "rerun"]
                    else:
                        subprocess.run(["cp", "-al", str(done), str(dest)], check=True)
                        shutil.rmtree(dest / ".s3pump", ignore_errors=True)
                for phase in phases:
                    argv_ = command(paths, endpoint.url, src, str(dest))
                    stem = logs / f"partitions-{tool}-{phase}-r{rnd}"
                    m = measure.run(argv_, env=env, cwd=work,
                                    stdout_path=stem.with_suffix(".out"),
                                    stderr_path=stem.with_suffix(".err"),
                                    timeout_s=args.timeout, server_pid=endpoint.server_pid)
                    record = {"tool": tool, "phase": phase, "round": rnd,
                              "argv": shlex.join(argv_)} | m.to_dict()
                    if m.ok and tool.startswith("s3pump"):
                        doc = json.loads(stem.with_suffix(".out").read_text())
                        record["requests"] = doc["requests"]
                        record["listed"] = doc["listed"]
                        record["listing_requests"] = (doc["requests"] if phase == "rerun"
                                                      else doc["requests"] - doc["transferred"])
                    if m.ok and phase == "first" and _count_files(dest) != OBJECTS:
                        record |= {"ok": False,
                                   "error": f"{_count_files(dest)} files, {OBJECTS} expected"}
                    if phase != "seed":
                        records.append(record)
                    state = "ok" if record["ok"] else f"FAILED: {record.get('error')}"
                    log(f"r{rnd} {tool:<9} {phase:<6} {record.get('wall_s', 0):7.1f}s "
                        f"cpu {record.get('cpu_s', 0):6.1f}s "
                        f"req {record.get('requests', '-')} {state}")
    finally:
        endpoint.stop()
    info["loadavg_end"] = os.getloadavg()
    meta = {"date": started.isoformat(timespec="seconds"),
            "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
            "command": shlex.join(["scripts/bench", "partitions", *(argv or sys.argv[1:])]),
            "rounds": args.rounds, "machine": info, "git_head_at_start": git_head(ROOT),
            "s3pump_install": INSTALL_KEY or "work tree",
            "tools": {t: TOOLS[t][0] for t in tools}}
    out = ROOT / "benchmarks" / "results"
    (out / f"{args.out}.json").write_text(json.dumps({"meta": meta, "records": records},
                                                     indent=1, default=str))
    load = info["loadavg_start"], info["loadavg_end"]
    lines = [f"# Partitions on local processes: mirroring 200,000 objects ({meta['date']})", "",
             f"Command: `{meta['command']}`; {args.rounds} interleaved rounds; rclone serve s3 "
             f"on 127.0.0.1 (200 prefixes x 1,000 zero-byte objects); {os.cpu_count()} cores "
             f"shared by client and server; load average at start "
             f"{' '.join(f'{x:.2f}' for x in load[0])}, at end "
             f"{' '.join(f'{x:.2f}' for x in load[1])}; git {meta['git_head_at_start']}.", "",
             *_table(records, tools), "",
             "CPU is user+sys of the tool's whole process tree (worker processes included); "
             "peak RSS is the coordinator's. Listing requests: in a re-run every request; in a "
             "first mirror the requests less one GET per object.", "",
             "## On paper: 100 million keys a night", "", *_estimate(records), "",
             *(f"- {t}: `{next((r['argv'] for r in records if r['tool'] == t), '')}`"
               for t in tools)]
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    log(f"wrote benchmarks/results/{args.out}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
