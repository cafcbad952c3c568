"""The parallel-listing benchmark: `scripts/bench listing-parallel [--rounds N] [--out NAME]`.

Keys/s of s3pump's parallel listing (list_objects_parallel, lean transport, fan-out 8) against
one lean paginator (list_objects_sequential), `s3pump ls -r`, the aiobotocore paginator,
`aws s3 ls --recursive` (v2) and `s5cmd ls`, on rclone serve s3, on two shapes of zero-byte
keys written straight into rclone's directory:

- flat50k: 50,000 keys in one "directory" (no sub-prefix to fan out on);
- tree200x1000: 200 sub-prefixes of 1,000 keys each.

Interleaved rounds (the first tool rotates), each listing verified (every key named), medians.
The s3pump library rows (benchmarks/list_s3pump.py) also report the time spent listing inside
the process, without the interpreter's start-up and imports. rclone runs with
`--dir-cache-time 1h`, so that its directory cache does not expire during a run (a cold
directory costs it several times the CPU). Results: benchmarks/results/<out>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import peers, report, server
from benchmarks.datasets import BUCKET, DatasetSpec, Manifest
from benchmarks.peers import Context, Paths, Tool
from benchmarks.run import ROOT, Plan, Runner, git_head, log, machine_info, s3pump_sources

HERE = Path(__file__).resolve().parent
LAYOUTS = {
    # name: (keys, key below the prefix for index i)
    "flat50k": (50_000, lambda i: f"obj{i:06d}.bin"),
    "tree200x1000": (200_000, lambda i: f"p{i // 1000:03d}/obj{i % 1000:04d}.bin"),
}
REFERENCE_TOOLS = ("s3pump", "s5cmd", "aws2", "aiobotocore")


def _library(mode: str) -> Any:
    def argv(c: Context, uri: str) -> list[str]:
        return [str(c.paths.project_python), str(HERE / "list_s3pump.py"), mode, uri,
                "--endpoint-url", c.endpoint_url]

    return argv


_S3PUMP_LIBRARY = Tool(
    "s3pump-parallel",
    "s3pump list_objects_parallel (lean, fan-out 8)",
    lambda p: p.project_python,
    ls=_library("parallel"),
    version=peers._s3pump_version,
)
TOOLS: tuple[Tool, ...] = (
    _S3PUMP_LIBRARY,
    replace(_S3PUMP_LIBRARY, name="s3pump-paginator",
            label="s3pump list_objects_sequential (lean, one paginator)",
            ls=_library("sequential")),
    *(t for name in REFERENCE_TOOLS for t in peers.LIST_TOOLS if t.name == name),
)
LIBRARY = ("s3pump-parallel", "s3pump-paginator")


def ensure_shape(name: str, s3root: Path) -> Manifest:
    """Create the zero-byte keys of `name` under s3root/BUCKET (before the server starts:
    rclone caches directory listings). Kept between runs; a stamp says it is complete."""
    count, key = LAYOUTS[name]
    spec = DatasetSpec(name, count, 0, listing_only=True)
    top = s3root / BUCKET / spec.prefix
    stamp = s3root.parent / "manifests" / f"{BUCKET}-{spec.prefix.rstrip('/')}.done"
    if not (stamp.exists() and (top / key(count - 1)).exists()):
        made: set[Path] = set()
        for i in range(count):
            path = top / key(i)
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.touch()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"{count}\n")
    return Manifest(spec, BUCKET, ())


def _in_process(runner: Runner, record: dict[str, Any]) -> None:
    """Attach the library script's own report (last line of its stderr) to the record."""
    err = runner.logs / f"ls-{record['tool']}-{record['dataset']}-r{record['round']}.err"
    try:
        record["in_process"] = json.loads(err.read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        record["in_process"] = None


def summarize(meta: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """report.list_rows, plus medians of the library rows' in-process figures."""
    rows = report.list_rows(meta, report.summarize(records))
    for row in rows:
        inside = [r["in_process"] for r in records
                  if r.get("ok") and r.get("in_process") and r["tool"] == row["tool"]
                  and r["dataset"] == row["dataset"]]
        if inside:
            row["in_process_keys_per_s"] = statistics.median(
                i["keys"] / i["listing_s"] for i in inside)
            row["pages"] = statistics.median(i["pages"] for i in inside)
    return rows


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    m = meta["machine"]
    lines = [
        "# Parallel listing: s3pump against one paginator, the AWS CLI and s5cmd",
        "",
        f"- date: {meta['date']} (took {meta['duration_s']:.0f} s)",
        f"- command: `{meta['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores; load average at start "
        f"{m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f} (shared: other work "
        "adds noise)",
        f"- server: {meta['server']}",
        f"- rounds: {meta['rounds']}, interleaved (the first tool rotates); medians over "
        "verified runs (every key listed)",
        f"- s3pump: git {meta['git_head_at_start']} at start, sources "
        f"{', '.join(meta['s3pump_sources']) or '?'}",
        "",
        "keys/s is the whole process (start-up, imports, listing, keys written to stdout), as "
        "for every tool; *in-process* is the listing alone, timed inside the s3pump library "
        "scripts. Ratios: keys/s of the row over keys/s of s5cmd or AWS CLI v2, same run.",
        "",
    ]
    for ds in meta["order"]["list_datasets"]:
        info = meta["datasets"][ds]
        lines += [
            f"## {ds}: {info['count']:,} keys ({info['shape']})",
            "",
            "| tool | runs | keys/s | in-process keys/s | pages | CPU ms/1k keys | peak RSS MiB "
            "| server CPU ms/1k keys | vs s5cmd | vs aws v2 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in (r for r in rows if r["dataset"] == ds):
            runs = f"{r['ok_runs']}/{r['ok_runs'] + r['failed_runs']}"
            lines.append(
                f"| {meta['list_tools'][r['tool']]['label']} | {runs} | "
                f"{report._fmt(r['keys_per_s'])} | "
                f"{report._fmt(r.get('in_process_keys_per_s'))} | "
                f"{report._fmt(r.get('pages'))} | "
                f"{report._fmt(r['cpu_ms_per_1k_keys'], 1)} | "
                f"{report._fmt(r['peak_rss_mib'])} | "
                f"{report._fmt(r['server_cpu_ms_per_1k_keys'], 1)} | "
                f"{report._fmt_ratio(r['keys_per_s_vs_s5cmd'])} | "
                f"{report._fmt_ratio(r['keys_per_s_vs_aws2'])} |"
            )
        lines.append("")
    failures = [(r, e) for r in rows for e in r["errors"]]
    if failures:
        lines += ["## Failures (not counted)", ""]
        lines += [f"- {r['dataset']} / {r['tool']}: {e[:300]}" for r, e in failures]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench listing-parallel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(LAYOUTS),
                        help=f"comma-separated subset of {','.join(LAYOUTS)}")
    parser.add_argument("--tools", default=",".join(t.name for t in TOOLS),
                        help="comma-separated subset of " + ",".join(t.name for t in TOOLS))
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    parser.add_argument("--out", default="latest-listing-parallel")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    names = [d for d in args.datasets.split(",") if d in LAYOUTS]
    tools = [t for t in TOOLS if t.name in args.tools.split(",")]
    paths = Paths(ROOT)
    s3root = paths.bench / "s3root"
    started = datetime.now(UTC)
    info = machine_info()
    sources_at_start = s3pump_sources(ROOT)
    manifests = {}
    for name in names:
        t0 = time.perf_counter()
        manifests[name] = ensure_shape(name, s3root)
        log(f"{name}: ready in {time.perf_counter() - t0:.1f}s")
    plan = Plan(quick=False, rounds=max(1, args.rounds), tools=[t.name for t in tools],
                get_datasets=[], put_datasets=[], list_datasets=names, jobs=64,
                latency_ms=0.0, timeout_s=args.timeout, out_name=args.out,
                argv=sys.argv[1:] if argv is None else argv)
    versions = {t.name: peers.tool_version(t, paths) for t in tools}
    records: list[dict[str, Any]] = []
    endpoint = server.start_endpoint(paths.rclone, s3root, paths.bench / "logs",
                                     extra_args=("--dir-cache-time", "1h"))
    with endpoint:
        runner = Runner(plan, paths, endpoint)
        runner.warm_up(list(manifests.values()))
        for rnd in range(1, plan.rounds + 1):
            for name in names:
                shift = (rnd - 1) % len(tools)
                for tool in tools[shift:] + tools[:shift]:
                    record = runner.listing(tool, manifests[name], rnd)
                    if tool.name in LIBRARY:
                        _in_process(runner, record)
                    records.append(record)
                    state = (f"ok {record['wall_s']:6.2f}s cpu {record['cpu_s']:5.2f}s"
                             if record.get("ok") else f"FAIL {record.get('error', '?')[:200]}")
                    log(f"r{rnd} {name:<13} {tool.name:<17} {state}")
    info["loadavg_end"] = os.getloadavg()
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "command": shlex.join(["scripts/bench", "listing-parallel", *plan.argv]),
        "rounds": plan.rounds,
        "server": "rclone serve s3 --dir-cache-time 1h (local directory), 127.0.0.1",
        "machine": info,
        "versions": versions,
        "git_head_at_start": git_head(ROOT),
        "s3pump_sources": list(dict.fromkeys([sources_at_start, s3pump_sources(ROOT)])),
        "datasets": {
            name: {"count": m.spec.count, "total_bytes": 0, "prefix": m.spec.prefix,
                   "shape": "one level" if name == "flat50k" else "200 sub-prefixes x 1,000"}
            for name, m in manifests.items()
        },
        "list_tools": {t.name: {"label": t.label} for t in tools},
        "order": {"ls": [t.name for t in tools], "list_datasets": names},
    }
    rows = summarize(meta, records)
    out_dir = HERE / "results"
    md = out_dir / f"{args.out}.md"
    md.write_text(markdown(meta, rows))
    (out_dir / f"{args.out}.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "records": records}, indent=1, default=str))
    log(f"wrote {md.relative_to(ROOT)} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
