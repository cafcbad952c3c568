"""Benchmark entry point: `scripts/bench [options]` (`python -m benchmarks.run` in the bench venv).

Creates the datasets, starts `rclone serve s3` on a free loopback port (behind the latency proxy
with --latency) and, for the checksum datasets, SeaweedFS; then runs interleaved rounds. First
the start-up case: one 16 KiB object by key, several times per round. Then the downloads: every
tool once per dataset per round, each into a fresh directory that is verified (file count, bytes,
sha256 of every file) before the run counts. Then the upload rounds: each tool uploads the
dataset's local copy under a fresh prefix of the bucket "upload", verified the same way in
rclone's directory and then deleted. Then the listing rounds. Results go to benchmarks/results/
as markdown, JSON and a PNG chart.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import datasets, measure, peers, report, seaweed, server
from benchmarks.datasets import DatasetSpec, Manifest
from benchmarks.peers import Context, Paths, Tool

ROOT = Path(__file__).resolve().parent.parent
STARTUP_DATASETS = ("one",)
DOWNLOAD_DATASETS = (
    "small", "medium", "large", "xl", "sw-medium", "sw-medium-crc", "sw-large", "sw-large-crc"
)
UPLOAD_DATASETS = ("small", "medium", "large", "xl")
UPLOAD_BUCKET = "upload"  # a folder of .bench/s3root, emptied at the start of every run
LIST_DATASETS = ("small", "list50k")


@dataclass
class Plan:
    quick: bool
    rounds: int
    tools: list[str]
    one_datasets: list[str]
    startup_reps: int
    get_datasets: list[str]
    put_datasets: list[str]
    list_datasets: list[str]
    jobs: int
    latency_ms: float
    timeout_s: float
    out_name: str
    argv: list[str] = field(default_factory=list)
    work_dir: Path | None = None


def parse_args(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small datasets, 1 round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 1)")
    # s3pump-base (the build S3PUMP_BASELINE names) runs by default only when one is named.
    default_tools = [t for t in peers.ALL_NAMES
                     if t != "s3pump-base" or os.environ.get("S3PUMP_BASELINE")]
    parser.add_argument(
        "--tools",
        default=",".join(default_tools),
        help=f"comma-separated subset of {','.join(peers.ALL_NAMES)} (default: all; "
        "s3pump-base only when S3PUMP_BASELINE names a build)",
    )
    everything = list(dict.fromkeys(
        [*STARTUP_DATASETS, *DOWNLOAD_DATASETS, *UPLOAD_DATASETS, *LIST_DATASETS]))
    parser.add_argument(
        "--datasets",
        default=None,
        help=f"comma-separated subset of {','.join(everything)} (default: all; with "
        "--latency, all but sw-*, whose server has no proxy): one is the start-up case; "
        f"{','.join(DOWNLOAD_DATASETS)} are downloaded (sw-*: on SeaweedFS, -crc with a "
        f"CRC64NVME checksum); {','.join(UPLOAD_DATASETS)} uploaded; "
        f"{','.join(LIST_DATASETS)} listed",
    )
    parser.add_argument(
        "--startup-reps",
        type=int,
        default=5,
        help="start-up case: runs of each tool per round (default 5; the median counts)",
    )
    parser.add_argument("--no-listing", action="store_true", help="skip the listing benchmark")
    parser.add_argument(
        "--no-downloads", action="store_true", help="skip the downloads and the start-up case"
    )
    parser.add_argument(
        "--uploads",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the upload benchmark (default: on; --no-uploads skips it)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=64, help="s3pump -j (default 64)")
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="MS", help="emulated round trip (ms)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    parser.add_argument(
        "--out", default=None, help="result file stem in benchmarks/results (default: latest...)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, metavar="DIR",
        help="where downloads land (default .bench/runs). On this VM's ext4, creating files "
        "right after large trees were deleted costs up to 1 ms of sys time each and grows run "
        "after run; a tmpfs (/dev/shm/...) measures the tools instead of that",
    )
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(peers.ALL_NAMES)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    if args.datasets is None:
        names = [d for d in everything if not (args.latency and d.startswith("sw-"))]
    else:
        names = [d for d in args.datasets.split(",") if d]
        if args.latency and any(d.startswith("sw-") for d in names):
            parser.error("the sw-* datasets are served by SeaweedFS, which has no latency proxy")
    unknown = set(names) - set(everything)
    if unknown:
        parser.error(f"unknown datasets: {', '.join(sorted(unknown))}")
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    out = args.out
    if out is None:
        out = "latest" + ("-quick" if args.quick else "")
        if args.latency:
            out += f"-latency{args.latency:g}ms"
    return Plan(
        quick=args.quick,
        rounds=max(1, rounds),
        tools=tools,
        one_datasets=[] if args.no_downloads else [d for d in names if d in STARTUP_DATASETS],
        startup_reps=max(1, args.startup_reps),
        get_datasets=[] if args.no_downloads else [d for d in names if d in DOWNLOAD_DATASETS],
        put_datasets=[d for d in names if d in UPLOAD_DATASETS] if args.uploads else [],
        list_datasets=[] if args.no_listing else [d for d in names if d in LIST_DATASETS],
        jobs=args.jobs,
        latency_ms=args.latency,
        timeout_s=args.timeout,
        out_name=out,
        argv=argv,
        work_dir=args.work_dir.resolve() if args.work_dir else None,
    )


def machine_info() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def s3pump_sources(root: Path) -> str:
    """A short hash of s3pump's sources: the work tree is shared and may change mid-run."""
    digest = hashlib.sha256()
    for path in sorted((root / "s3pump").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()[:12]


def git_head(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() or "?"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _settle() -> None:
    """Flush the previous run's writes so they do not land in the next run's time."""
    os.sync()
    time.sleep(0.3)


class Runner:
    def __init__(
        self,
        plan: Plan,
        paths: Paths,
        endpoint: server.Endpoint,
        others: dict[str, server.Endpoint] | None = None,
    ) -> None:
        """`endpoint` is rclone's; `others` the other servers by name (DatasetSpec.server)."""
        self.plan = plan
        self.paths = paths
        self.endpoint = endpoint
        self.endpoints = {"rclone": endpoint, **(others or {})}
        self.ctx = Context(paths=paths, endpoint_url=endpoint.url, jobs=plan.jobs)
        self.contexts = {
            name: Context(paths=paths, endpoint_url=ep.url, jobs=plan.jobs)
            for name, ep in self.endpoints.items()
        }
        self.work = plan.work_dir or paths.bench / "runs"
        self.s3root = paths.bench / "s3root"
        self.logs = paths.bench / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.base_env = server.client_env(home=paths.bench / "home")
        (paths.bench / "home").mkdir(parents=True, exist_ok=True)
        self.given_up: dict[tuple[str, str, str], str] = {}

    def _env(self, tool: Tool, ctx: Context) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(tool.env(ctx))
        return env

    def _skip(self, kind: str, tool: Tool, ds: str) -> str | None:
        if not tool.installed(self.paths):
            return f"not installed ({tool.executable(self.paths)})"
        return self.given_up.get((kind, tool.name, ds))

    def _start(self, kind: str, tool: Tool, manifest: Manifest, rnd: int) -> dict[str, Any]:
        """The record of one run; "skipped" already set (and True) if the run is not to be made."""
        name = manifest.spec.name
        record: dict[str, Any] = {"kind": kind, "tool": tool.name, "dataset": name, "round": rnd}
        skip = self._skip(kind, tool, name)
        if skip:
            record |= {"ok": False, "error": skip, "skipped": True}
        return record

    def _measure(
        self, record: dict[str, Any], tool: Tool, argv: list[str], **extra: Any
    ) -> measure.Measurement:
        """Run argv for the record (logs in .bench/logs); add what was measured, then extra."""
        stem = self.logs / _log_stem(record, tool.name)
        server_name = record.get("server", "rclone")
        m = measure.run(
            argv,
            env=self._env(tool, self.contexts[server_name]),
            cwd=self.work,
            stdout_path=stem.with_suffix(".out"),
            stderr_path=stem.with_suffix(".err"),
            timeout_s=self.plan.timeout_s,
            server_pid=self.endpoints[server_name].server_pid,
        )
        record |= m.to_dict() | {"argv": shlex.join(argv), **extra}
        if m.error and ("timed out" in m.error or "cannot start" in m.error):
            key = (record["kind"], tool.name, record["dataset"])
            self.given_up[key] = f"skipped after: {m.error}"
        return m

    def _transfer(
        self,
        record: dict[str, Any],
        tool: Tool,
        argv: list[str],
        manifest: Manifest,
        dest: Path,
        **extra: Any,
    ) -> dict[str, Any]:
        """Measure a download or upload, verify what landed in dest, then delete it."""
        m = self._measure(record, tool, argv, **extra)
        if tool.name == "s3pump":
            record["s3pump_sources"] = INSTALL_KEY or s3pump_sources(self.paths.root)
        if m.ok:
            problem = datasets.verify(manifest, dest)
            if problem:
                record |= {"ok": False, "error": f"verification failed: {problem}"}
        shutil.rmtree(dest, ignore_errors=True)
        _settle()
        return record

    def download(self, tool: Tool, manifest: Manifest, rnd: int) -> dict[str, Any]:
        spec = manifest.spec
        record = self._start("get", tool, manifest, rnd)
        if record.get("skipped"):
            return record
        assert tool.get is not None
        record["server"] = spec.server
        dest = _fresh_dir(self.work / f"{tool.name}-{spec.name}")
        ctx = self.contexts[spec.server]
        argv = tool.get(ctx, f"s3://{manifest.bucket}/{spec.prefix}", dest)
        return self._transfer(record, tool, argv, manifest, dest)

    def startup(self, tool: Tool, manifest: Manifest, rnd: int, rep: int) -> dict[str, Any]:
        """The start-up case: the dataset's one object by key into a fresh directory
        (`get s3://bucket/KEY DIR/`), a whole process, verified like a download."""
        spec = manifest.spec
        record = self._start("one", tool, manifest, rnd) | {"rep": rep}
        if record.get("skipped"):
            return record
        assert tool.one is not None
        (rel, _size, _sha), *_ = manifest.objects
        dest = _fresh_dir(self.work / f"{tool.name}-{spec.name}")
        dest.mkdir()
        argv = tool.one(self.ctx, f"s3://{manifest.bucket}/{spec.prefix}{rel}", dest)
        return self._transfer(record, tool, argv, manifest, dest)

    def upload(self, tool: Tool, manifest: Manifest, rnd: int) -> dict[str, Any]:
        """Upload the dataset's local copy (the files rclone serves) under a fresh prefix.

        The objects land in rclone's directory, `s3root/upload/<prefix>`, which must then hold
        exactly the dataset; it is deleted afterwards. The prefix is new for every run (rclone
        caches directory listings, so a reused name could look non-empty).
        """
        spec = manifest.spec
        record = self._start("put", tool, manifest, rnd)
        if record.get("skipped"):
            return record
        assert tool.put is not None
        src = self.s3root / manifest.bucket / spec.prefix.rstrip("/")
        prefix = f"{tool.name}-{spec.name}-r{rnd}-{time.time_ns() // 1_000_000}"
        self.work.mkdir(parents=True, exist_ok=True)
        argv = tool.put(self.ctx, src, f"s3://{UPLOAD_BUCKET}/{prefix}/")
        landed = self.s3root / UPLOAD_BUCKET / prefix
        return self._transfer(record, tool, argv, manifest, landed, prefix=prefix)

    def listing(self, tool: Tool, manifest: Manifest, rnd: int) -> dict[str, Any]:
        spec = manifest.spec
        record = self._start("ls", tool, manifest, rnd)
        if record.get("skipped"):
            return record
        assert tool.ls is not None
        self.work.mkdir(parents=True, exist_ok=True)
        argv = tool.ls(self.ctx, f"s3://{manifest.bucket}/{spec.prefix}")
        m = self._measure(record, tool, argv)
        if m.ok:
            # Every key ends in ".bin"; count the lines that name one.
            out = self.logs / f"ls-{tool.name}-{spec.name}-r{rnd}.out"
            with open(out, "rb") as f:
                keys = sum(1 for line in f if line.rstrip().endswith(b".bin"))
            if keys != spec.count:
                record |= {
                    "ok": False,
                    "error": f"verification failed: listed {keys} keys, expected {spec.count}",
                }
        return record

    def warm_up(self, manifests: list[Manifest]) -> None:
        """List each dataset once, untimed, so rclone's directory cache is equally warm for all."""
        for man in manifests:
            argv = [
                str(self.paths.peers_python),
                str(Path(__file__).with_name("naive_aiobotocore.py")),
                "ls",
                f"s3://{man.bucket}/{man.spec.prefix}",
                "--endpoint-url",
                self.endpoints[man.spec.server].url,
            ]
            m = measure.run(
                argv,
                env=self.base_env,
                cwd=self.paths.bench,
                stdout_path=self.logs / "warmup.out",
                stderr_path=self.logs / "warmup.err",
                timeout_s=self.plan.timeout_s,
                server_pid=None,
            )
            if not m.ok:
                raise RuntimeError(f"warm-up listing of {man.spec.prefix} failed: {m.error}")


def _log_stem(record: dict[str, Any], tool: str) -> str:
    """The name of a run's log files in .bench/logs (without suffix)."""
    stem = f"{record['kind']}-{tool}-{record['dataset']}-r{record['round']}"
    return stem + (f"-{record['rep']}" if "rep" in record else "")


INSTALL_KEY = os.environ.get("S3PUMP_INSTALL_KEY", "")  # set by scripts/bench


def seed_remote(
    spec: DatasetSpec, paths: Paths, url: str, env: dict[str, str], timeout_s: float
) -> Manifest:
    """Put a dataset on a live server (SeaweedFS) unless it is there already; its manifest.

    The objects are generated under .bench/seed (as `datasets.ensure` does for rclone),
    uploaded one PUT each by seed_remote.py (with a CRC64NVME checksum if the spec has one),
    then deleted: the server keeps its own copy between runs.
    """
    seed_root = paths.bench / "seed"
    check = [
        str(paths.project_python),
        str(Path(__file__).with_name("seed_remote.py")),
        "--endpoint-url", url,
        "--bucket", datasets.BUCKET,
        "--prefix", spec.prefix,
        "--manifest", str(datasets.manifest_path(seed_root, spec)),
        *(["--crc64nvme"] if spec.checksum == "CRC64NVME" else []),
    ]
    known = datasets.stored(spec, seed_root)
    if known is not None:
        done = subprocess.run(check, env=env, capture_output=True, timeout=timeout_s, check=False)
        if done.returncode == 0:
            return known
    made = datasets.ensure(spec, seed_root)
    source = seed_root / datasets.BUCKET / spec.prefix
    try:
        done = subprocess.run(
            [*check, "--source", str(source)],
            env=env, capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    finally:
        shutil.rmtree(source, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"seeding {spec.name} failed: {done.stderr.strip()[-600:]}")
    return made


def _rotate(items: list[Tool], by: int) -> list[Tool]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(sys.argv[1:] if argv is None else argv)
    paths = Paths(ROOT)
    specs: dict[str, DatasetSpec] = datasets.QUICK if plan.quick else datasets.FULL
    s3root = paths.bench / "s3root"
    s3root.mkdir(parents=True, exist_ok=True)

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)

    one_tools = [t for t in peers.STARTUP_TOOLS if t.name in plan.tools]
    get_tools = [t for t in peers.DOWNLOAD_TOOLS if t.name in plan.tools]
    put_tools = [t for t in peers.UPLOAD_TOOLS if t.name in plan.tools]
    ls_tools = [t for t in peers.LIST_TOOLS if t.name in plan.tools]
    if not plan.one_datasets:
        one_tools = []
    if not plan.get_datasets:
        get_tools = []
    if not plan.put_datasets:
        put_tools = []
    if not plan.list_datasets:
        ls_tools = []

    started = datetime.now(UTC)
    head = git_head(paths.root)
    info = machine_info()
    log(f"datasets ({'quick' if plan.quick else 'full'}) under {s3root}")
    wanted = list(dict.fromkeys(
        [*plan.one_datasets, *plan.get_datasets, *plan.put_datasets, *plan.list_datasets]))
    manifests: dict[str, Manifest] = {}
    for name in wanted:
        if specs[name].server != "rclone":
            continue  # seeded once its server runs
        t0 = time.perf_counter()
        manifests[name] = datasets.ensure(specs[name], s3root)
        log(f"  {name}: {specs[name].describe()} ready in {time.perf_counter() - t0:.1f}s")

    versions = {}
    if put_tools:
        # The upload bucket: emptied before the server starts (what a killed run may have left).
        upload_root = s3root / UPLOAD_BUCKET
        if upload_root.exists():
            shutil.rmtree(upload_root)
        upload_root.mkdir()

    for tool in [*one_tools, *get_tools, *put_tools, *ls_tools]:
        if tool.name not in versions:
            versions[tool.name] = (
                peers.tool_version(tool, paths) if tool.installed(paths) else "not installed"
            )
    for name, ver in versions.items():
        log(f"  {name}: {ver}")

    records: list[dict[str, Any]] = []
    seaweed_names = [n for n in wanted if specs[n].server == "seaweed"]
    endpoint = server.start_endpoint(paths.rclone, s3root, paths.bench / "logs", plan.latency_ms)
    others: dict[str, server.Endpoint] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(endpoint)
        log(
            f"rclone serve s3 at {endpoint.url}"
            + (f" (+{plan.latency_ms:g} ms RTT proxy)" if plan.latency_ms else "")
        )
        if seaweed_names:
            weed_root = paths.bench / "weed"
            stack.callback(seaweed.remove_sockets, weed_root)
            others["seaweed"] = stack.enter_context(
                seaweed.start(paths.weed, weed_root, paths.bench / "logs"))
            log(f"SeaweedFS (weed mini) at {others['seaweed'].url}")
        runner = Runner(plan, paths, endpoint, others)
        for name in seaweed_names:
            t0 = time.perf_counter()
            manifests[name] = seed_remote(
                specs[name], paths, others["seaweed"].url, runner.base_env, plan.timeout_s)
            log(f"  {name}: {specs[name].describe()} ready in {time.perf_counter() - t0:.1f}s")
        runner.warm_up(list(manifests.values()))
        for rnd in range(1, plan.rounds + 1):
            for ds in plan.one_datasets:
                for rep in range(plan.startup_reps):
                    for tool in _rotate(one_tools, rnd - 1 + rep):
                        rec = runner.startup(tool, manifests[ds], rnd, rep)
                        records.append(rec)
                        _log_record(rec)
        for dataset_names, tools, run_one in (
            (plan.get_datasets, get_tools, runner.download),
            (plan.put_datasets, put_tools, runner.upload),
            (plan.list_datasets, ls_tools, runner.listing),
        ):
            for rnd in range(1, plan.rounds + 1):
                for ds in dataset_names:
                    for tool in _rotate(tools, rnd - 1):
                        rec = run_one(tool, manifests[ds], rnd)
                        records.append(rec)
                        _log_record(rec)
    info["loadavg_end"] = os.getloadavg()
    sources = list(dict.fromkeys(r["s3pump_sources"] for r in records if "s3pump_sources" in r))

    servers = {"rclone": "rclone serve s3 (local directory), 127.0.0.1"}
    if seaweed_names:
        servers["seaweed"] = f"SeaweedFS weed mini ({_weed_version(paths)}), 127.0.0.1"
    meta = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "command": shlex.join(["scripts/bench", *plan.argv]),
        "quick": plan.quick,
        "rounds": plan.rounds,
        "startup_reps": plan.startup_reps,
        "latency_ms": plan.latency_ms,
        "s3pump_jobs": plan.jobs,
        "server": servers["rclone"],
        "servers": servers,
        "machine": info,
        "versions": versions,
        "git_head_at_start": head,
        "s3pump_install": INSTALL_KEY or "work tree",
        "s3pump_sources": sources,
        "datasets": {
            name: {
                "count": m.spec.count,
                "size": m.spec.size,
                "total_bytes": m.spec.total_bytes,
                "describe": m.spec.describe(),
                "prefix": m.spec.prefix,
                "server": m.spec.server,
                "checksum": m.spec.checksum or "MD5",
            }
            for name, m in manifests.items()
        },
        "tools": {t.name: {"label": t.label, "notes": list(t.notes)} for t in get_tools},
        "one_tools": {t.name: {"label": t.label, "notes": list(t.notes)} for t in one_tools},
        "list_tools": {t.name: {"label": t.label} for t in ls_tools},
        "put_tools": {t.name: {"label": t.label, "notes": list(t.notes)} for t in put_tools},
        "order": {
            "one": [t.name for t in one_tools],
            "one_datasets": plan.one_datasets,
            "get": [t.name for t in get_tools],
            "ls": [t.name for t in ls_tools],
            "get_datasets": plan.get_datasets,
            "list_datasets": plan.list_datasets,
            "put": [t.name for t in put_tools],
            "put_datasets": plan.put_datasets,
        },
    }
    out_dir = Path(__file__).resolve().parent / "results"
    written = report.write_all(meta, records, out_dir, plan.out_name)
    for path in written:
        log(f"wrote {path.relative_to(ROOT)}")
    return 0


def _weed_version(paths: Paths) -> str:
    try:
        out = subprocess.run([str(paths.weed), "version"], capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    words = out.stdout.split()
    return f"weed {words[2]}" if len(words) > 2 else "?"


def _log_record(rec: dict[str, Any]) -> None:
    head = f"{rec['kind']} {rec['dataset']:<13} {rec['tool']:<12} r{rec['round']}"
    if rec.get("ok"):
        log(
            f"{head} ok   {rec['wall_s']:7.2f}s  cpu {rec['cpu_s']:6.2f}s  "
            f"rss {rec['peak_rss_mib']:6.0f} MiB  server cpu {rec['server_cpu_s']:5.2f}s"
        )
    else:
        log(f"{head} FAIL {rec.get('error', '?')[:300]}")


if __name__ == "__main__":
    raise SystemExit(main())
