"""S3 to S3: copying a prefix between two buckets of one endpoint, s3pump against its peers.

    scripts/bench across [--rounds 3] [--datasets sw-medium,sw-large] [--tools s3pump,s5cmd,aws2]

Every tool copies the dataset's prefix from the bucket it was seeded into to a second bucket
of the same SeaweedFS server (which implements CopyObject and UploadPartCopy: the bytes never
leave the server), in interleaved rounds; the destination is emptied before each run and checked
after it (every key, with its size; the ETag too where both are single-part MD5s). The tool
`s3pump-streamed` copies the same objects through the host (`--source-endpoint-url` names the
same server, so s3pump cannot assume one endpoint): what a copy between two endpoints costs.

Credentials come from `~/.aws` files in the harness's home, as for the other cases. Results:
`benchmarks/results/latest-across.{md,json}` (`--out` to rename).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import datasets, measure, seaweed, server
from benchmarks.peers import Paths
from benchmarks.run import INSTALL_KEY, git_head, log, machine_info, seed_remote

ROOT = Path(__file__).resolve().parent.parent
DEST_BUCKET = "bench-copy"
Argv = list[str]


def _s3pump(p: Paths, url: str, src: str, dst: str, jobs: int) -> Argv:
    return [str(p.s3pump), "cp", src, dst, "--recursive", "--endpoint-url", url,
            "--no-progress", "-q", "-j", str(jobs)]


def _s3pump_streamed(p: Paths, url: str, src: str, dst: str, jobs: int) -> Argv:
    return [*_s3pump(p, url, src, dst, jobs), "--source-endpoint-url", url]


def _s5cmd(p: Paths, url: str, src: str, dst: str, _jobs: int) -> Argv:
    return [str(p.s5cmd), "--log", "error", "--endpoint-url", url, "cp", src + "*", dst]


def _aws2(p: Paths, url: str, src: str, dst: str, _jobs: int) -> Argv:
    return [str(p.aws2), "--endpoint-url", url, "s3", "cp", "--recursive", "--only-show-errors",
            src, dst]


TOOLS: dict[str, tuple[str, Callable[[Paths], Path], Callable[..., Argv]]] = {
    "s3pump": ("s3pump (server-side)", lambda p: p.s3pump, _s3pump),
    "s3pump-streamed": ("s3pump (streamed through the host)", lambda p: p.s3pump,
                        _s3pump_streamed),
    "s5cmd": ("s5cmd (Go)", lambda p: p.s5cmd, _s5cmd),
    "aws2": ("AWS CLI v2", lambda p: p.aws2, _aws2),
}


def _client(url: str) -> Any:
    import botocore.session
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=url, config=config, region_name=server.REGION,
        aws_access_key_id=server.ACCESS_KEY, aws_secret_access_key=server.SECRET_KEY)


def _listing(client: Any, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = (int(obj["Size"]), obj["ETag"].strip('"'))
    return found


def _empty(client: Any, bucket: str) -> None:
    keys = list(_listing(client, bucket, ""))
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})


def _check(source: dict[str, tuple[int, str]], copied: dict[str, tuple[int, str]]) -> str | None:
    """None if the copy holds every source key with its size (and MD5 ETag where comparable)."""
    if set(source) != set(copied):
        return f"{len(copied)} keys copied, {len(source)} expected"
    for key, (size, etag) in source.items():
        got_size, got_etag = copied[key]
        if got_size != size:
            return f"{key}: {got_size} bytes, {size} expected"
        if "-" not in etag and "-" not in got_etag and etag != got_etag:
            return f"{key}: ETag {got_etag}, {etag} expected"
    return None


def _summary(records: list[dict[str, Any]], names: list[str], tools: list[str]
             ) -> list[str]:
    lines = ["| dataset | tool | median wall (s) | MiB/s | s5cmd / s3pump | aws2 / s3pump "
             "| client CPU (s) | server CPU (s) | peak RSS (MiB) | runs ok |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        walls: dict[str, float] = {}
        rows: list[tuple[str, list[dict[str, Any]] | None, list[dict[str, Any]]]] = []
        for tool in tools:
            ok = [r for r in records if r["dataset"] == name and r["tool"] == tool and r["ok"]]
            every = [r for r in records if r["dataset"] == name and r["tool"] == tool]
            if not ok:
                rows.append((tool, None, every))
                continue
            walls[tool] = statistics.median(r["wall_s"] for r in ok)
            rows.append((tool, ok, every))
        for tool, done, every in rows:
            if done is None:
                lines.append(f"| {name} | {tool} | failed | | | | | | | 0/{len(every)} |")
                continue
            wall = walls[tool]
            ok = done
            mib = ok[0]["total_bytes"] / (1024 * 1024) / wall
            cpu = statistics.median(r["cpu_s"] for r in ok)
            srv = statistics.median(r["server_cpu_s"] for r in ok)
            rss = statistics.median(r["peak_rss_mib"] for r in ok)
            s5 = (f"{walls['s5cmd'] / wall:.2f}x" if "s5cmd" in walls and tool.startswith(
                "s3pump") else "")
            aws = (f"{walls['aws2'] / wall:.2f}x" if "aws2" in walls and tool.startswith(
                "s3pump") else "")
            lines.append(f"| {name} | {tool} | {wall:.2f} | {mib:.0f} | {s5} | {aws} | {cpu:.2f} "
                         f"| {srv:.2f} | {rss:.0f} | {len(ok)}/{len(every)} |")
    return lines


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def _argv_of(records: list[dict[str, Any]], tool: str) -> str:
    return next((r["argv"] for r in records if r["tool"] == tool and "argv" in r), "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench across", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--datasets", default="sw-medium,sw-large")
    parser.add_argument("--tools", default="s3pump,s3pump-streamed,s5cmd,aws2")
    parser.add_argument("--quick", action="store_true", help="small datasets, 1 round")
    parser.add_argument("-j", "--jobs", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", default="latest-across")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    specs = datasets.QUICK if args.quick else datasets.FULL
    names = [n for n in args.datasets.split(",") if n]
    tools = [t for t in args.tools.split(",") if t]
    for name in names:
        if name not in specs or specs[name].server != "seaweed":
            parser.error(f"{name}: not a SeaweedFS dataset ({', '.join(specs)})")
    for tool in tools:
        if tool not in TOOLS:
            parser.error(f"unknown tool {tool} (one of {', '.join(TOOLS)})")
    rounds = 1 if args.quick else args.rounds
    paths = Paths(ROOT)
    home = paths.bench / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = server.client_env(home=home)
    work = paths.bench / "runs"
    work.mkdir(parents=True, exist_ok=True)
    logs = paths.bench / "logs"
    started = datetime.now(UTC)
    info = machine_info()
    records: list[dict[str, Any]] = []
    weed_root = paths.bench / "weed"
    endpoint = seaweed.start(paths.weed, weed_root, logs)
    try:
        url = endpoint.url
        log(f"SeaweedFS (weed mini) at {url}")
        client = _client(url)
        with contextlib.suppress(client.exceptions.ClientError):  # kept between runs
            client.create_bucket(Bucket=DEST_BUCKET)
        manifests = {}
        sources = {}
        for name in names:
            manifests[name] = seed_remote(specs[name], paths, url, env, args.timeout)
            prefix = specs[name].prefix
            sources[name] = {k[len(prefix):]: v for k, v in
                             _listing(client, datasets.BUCKET, prefix).items()}
            log(f"  {name}: {specs[name].describe()} ready")
        for rnd in range(1, rounds + 1):
            for name in names:
                prefix = specs[name].prefix
                order = tools[(rnd - 1) % len(tools):] + tools[:(rnd - 1) % len(tools)]
                for tool in order:
                    label, exe, command = TOOLS[tool]
                    record: dict[str, Any] = {"dataset": name, "tool": tool, "round": rnd,
                                              "total_bytes": specs[name].total_bytes}
                    if not exe(paths).exists():
                        records.append(record | {"ok": False, "error": "not installed"})
                        continue
                    _empty(client, DEST_BUCKET)
                    os.sync()
                    time.sleep(0.3)
                    argv_ = command(paths, url, f"s3://{datasets.BUCKET}/{prefix}",
                                    f"s3://{DEST_BUCKET}/{prefix}", args.jobs)
                    stem = logs / f"across-{name}-{tool}-r{rnd}"
                    m = measure.run(argv_, env=env, cwd=work,
                                    stdout_path=stem.with_suffix(".out"),
                                    stderr_path=stem.with_suffix(".err"),
                                    timeout_s=args.timeout, server_pid=endpoint.server_pid)
                    record |= m.to_dict() | {"argv": shlex.join(argv_)}
                    if m.ok:
                        copied = {k[len(prefix):]: v for k, v in
                                  _listing(client, DEST_BUCKET, prefix).items()}
                        problem = _check(sources[name], copied)
                        if problem:
                            record |= {"ok": False, "error": f"verification failed: {problem}"}
                    records.append(record)
                    state = "ok" if record["ok"] else f"FAILED: {record.get('error')}"
                    log(f"  r{rnd} {name} {label}: {record.get('wall_s', 0):.2f}s {state}")
        _empty(client, DEST_BUCKET)
    finally:
        endpoint.stop()
        seaweed.remove_sockets(weed_root)
    info["loadavg_end"] = os.getloadavg()
    meta = {"date": started.isoformat(timespec="seconds"),
            "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
            "command": shlex.join(["scripts/bench", "across", *(argv or sys.argv[1:])]),
            "rounds": rounds, "machine": info, "git_head_at_start": git_head(ROOT),
            "s3pump_install": INSTALL_KEY or "work tree",
            "tools": {t: TOOLS[t][0] for t in tools},
            "datasets": {n: specs[n].describe() for n in names}}
    out = ROOT / "benchmarks" / "results"
    (out / f"{args.out}.json").write_text(json.dumps({"meta": meta, "records": records},
                                                     indent=1))
    lines = [f"# S3 to S3 copy between two buckets of one endpoint ({meta['date']})", "",
             f"Command: `{meta['command']}`; {rounds} interleaved rounds; SeaweedFS on "
             f"127.0.0.1; load average at start "
             f"{_load(info['loadavg_start'])}, at end {_load(info['loadavg_end'])}; "
             f"git {meta['git_head_at_start']}.", "",
             *_summary(records, names, tools), "",
             "Ratios are the peer's median wall time divided by s3pump's (above 1: s3pump is "
             "faster). Client CPU is user+sys of the tool's process tree; server CPU is "
             "SeaweedFS's over the same interval.", "",
             *(f"- {t}: `{_argv_of(records, t)}`" for t in tools)]
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    log(f"wrote benchmarks/results/{args.out}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
