"""The benchmark harness (benchmarks/): datasets, command lines, result rows and tables.

Pure: no tool is run and no server started (tests/functional/test_bench_seed.py seeds a real
server). The numbers here are made up; what is checked is how the harness turns runs into rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import datasets, peers, report, run, summary
from benchmarks.datasets import GIB, KIB, MIB

CTX = peers.Context(peers.Paths(Path("/repo")), "http://127.0.0.1:9000", 64)


def test_full_run_has_the_new_datasets() -> None:
    full = datasets.FULL
    assert (full["xl"].count, full["xl"].size) == (2, 1 * GIB)
    assert (full["one"].count, full["one"].size) == (1, 16 * KIB)
    for name, size in (("medium", MIB), ("large", 256 * MIB)):
        md5, crc = full[f"sw-{name}"], full[f"sw-{name}-crc"]
        assert (md5.count, md5.size) == (crc.count, crc.size) == (full[name].count, size)
        assert (md5.server, md5.checksum) == ("seaweed", "")
        assert (crc.server, crc.checksum) == ("seaweed", "CRC64NVME")
        assert "CRC64NVME" in crc.describe() and "SeaweedFS" in md5.describe()
    prefixes = [s.prefix for s in full.values()]
    assert len(set(prefixes)) == len(prefixes)  # a prefix (and manifest) of its own each
    # --quick shrinks xl, and keeps every name
    assert datasets.QUICK.keys() == full.keys()
    assert datasets.QUICK["xl"].total_bytes < full["large"].total_bytes


def test_default_run_covers_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3PUMP_BASELINE", raising=False)
    plan = run.parse_args([])
    assert "s3pump-base" not in plan.tools  # no baseline named: no row of failures for it
    assert {"s3pump", "s5cmd", "aws2", "aws1", "rclone"} <= set(plan.tools)
    assert plan.one_datasets == ["one"] and plan.startup_reps == 5
    assert {"xl", "sw-medium", "sw-medium-crc", "sw-large", "sw-large-crc"} <= set(
        plan.get_datasets)
    assert plan.put_datasets == ["small", "medium", "large", "xl"]
    assert plan.list_datasets == ["small", "list50k"]


def test_latency_runs_leave_out_the_seaweed_datasets() -> None:
    plan = run.parse_args(["--latency", "20"])
    assert not [d for d in plan.get_datasets if d.startswith("sw-")]
    assert "xl" in plan.get_datasets
    with pytest.raises(SystemExit):
        run.parse_args(["--latency", "20", "--datasets", "sw-medium"])


def test_no_downloads_also_skips_the_start_up_case() -> None:
    plan = run.parse_args(["--no-downloads", "--startup-reps", "3"])
    assert plan.one_datasets == [] and plan.get_datasets == []


def _one(name: str) -> peers.Tool:
    return next(t for t in peers.STARTUP_TOOLS if t.name == name)


def test_start_up_commands_fetch_one_key_into_a_directory() -> None:
    uri, dest = "s3://bench/one-1x16384/obj000000.bin", Path("/tmp/d")
    argv = {t.name: t.one(CTX, uri, dest) for t in peers.STARTUP_TOOLS if t.one}
    assert set(argv) == {"s3pump", "s3pump-base", "s5cmd", "aws2", "aws1", "rclone"}
    assert argv["s3pump"][1:4] == ["get", uri, "/tmp/d/"]
    assert argv["s3pump"][0].endswith(".bench/venv-s3pump/bin/s3pump")  # not the editable one
    assert argv["s5cmd"][-3:] == ["cp", uri, "/tmp/d/"]
    for aws in ("aws1", "aws2"):
        assert argv[aws][-2:] == [uri, "/tmp/d/"] and "--recursive" not in argv[aws]
    for name in ("s3pump", "s5cmd", "aws1", "aws2"):  # the endpoint on the command line
        assert argv[name][argv[name].index("--endpoint-url") + 1] == CTX.endpoint_url
    # rclone: the endpoint in an on-the-fly remote, credentials from ~/.aws, no environment
    assert argv["rclone"][1] == "copyto"
    assert f"endpoint='{CTX.endpoint_url}'" in argv["rclone"][4]
    assert "env_auth=true" in argv["rclone"][4]
    assert argv["rclone"][4].endswith(":bench/one-1x16384/obj000000.bin")
    assert argv["rclone"][5] == "/tmp/d/obj000000.bin"
    assert _one("rclone").env(CTX) == {}


def test_s3pump_baseline_stays_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3PUMP_BASELINE", "/opt/base/bin/s3pump")
    argv = _one("s3pump-base").one(CTX, "s3://b/k", Path("/d"))  # type: ignore[misc]
    assert argv[0] == "/opt/base/bin/s3pump"
    assert "s3pump-base" in run.parse_args([]).tools


def _rec(kind: str, ds: str, tool: str, wall: float, *, ok: bool = True, rep: int = 0,
         rss: float = 20.0) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": kind, "dataset": ds, "tool": tool, "round": 1, "ok": ok,
                           "wall_s": wall, "cpu_s": wall / 2, "peak_rss_mib": rss,
                           "server_cpu_s": 0.001, "rep": rep}
    if not ok:
        rec["error"] = "verification failed: missing"
    return rec


def _meta() -> dict[str, Any]:
    specs = {n: datasets.FULL[n] for n in ("one", "xl", "sw-medium-crc")}
    return {
        "date": "2026-12-01T00:00:00+00:00", "duration_s": 1.0, "command": "scripts/bench",
        "quick": False, "rounds": 1, "startup_reps": 3, "latency_ms": 0.0, "s3pump_jobs": 64,
        "server": "rclone", "servers": {"rclone": "rclone", "seaweed": "SeaweedFS weed mini"},
        "machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "os": "linux",
                    "loadavg_start": [0, 0, 0], "loadavg_end": [0, 0, 0]},
        "versions": {"s3pump": "s3pump 0.1.0"}, "s3pump_install": "abc 123",
        "datasets": {n: {"count": s.count, "size": s.size, "total_bytes": s.total_bytes,
                         "describe": s.describe(), "prefix": s.prefix} for n, s in specs.items()},
        "tools": {t: {"label": t, "notes": []} for t in ("s3pump", "s5cmd", "aws2")},
        "one_tools": {t: {"label": t, "notes": []} for t in ("s3pump", "s5cmd", "aws2")},
        "put_tools": {t: {"label": t, "notes": []} for t in ("s3pump", "s5cmd")},
        "list_tools": {},
        "order": {"one": ["s3pump", "s5cmd", "aws2"], "one_datasets": ["one"],
                  "get": ["s3pump", "s5cmd", "aws2"], "get_datasets": ["xl", "sw-medium-crc"],
                  "put": ["s3pump", "s5cmd"], "put_datasets": ["xl"], "ls": [],
                  "list_datasets": []},
    }


def _records() -> list[dict[str, Any]]:
    recs = []
    for rep, (a, b, c) in enumerate([(0.10, 0.010, 0.60), (0.30, 0.020, 0.70),
                                     (0.20, 0.015, 0.50)]):
        recs += [_rec("one", "one", "s3pump", a, rep=rep), _rec("one", "one", "s5cmd", b, rep=rep),
                 _rec("one", "one", "aws2", c, rep=rep)]
    recs.append(_rec("one", "one", "s3pump", 0.01, ok=False, rep=3))  # does not count
    recs += [_rec("get", "xl", "s3pump", 2.0, rss=60), _rec("get", "xl", "s5cmd", 1.5, rss=19),
             _rec("get", "xl", "aws2", 8.0),
             _rec("get", "sw-medium-crc", "s3pump", 0.5),
             _rec("get", "sw-medium-crc", "s5cmd", 0.5),
             _rec("put", "xl", "s3pump", 3.0, rss=120), _rec("put", "xl", "s5cmd", 4.0)]
    return recs


def test_start_up_rows_are_medians_over_every_verified_run() -> None:
    rows = summary.startup_rows(_meta(), _records())
    s3pump = next(r for r in rows if r["tool"] == "s3pump")
    assert s3pump["wall_s"] == pytest.approx(0.20)  # median of 0.1, 0.3, 0.2; not the failure
    assert (s3pump["ok_runs"], s3pump["failed_runs"]) == (3, 1)
    assert s3pump["errors"] == ["verification failed: missing"]
    assert s3pump["cpu_ms"] == pytest.approx(100.0)
    # speed ratio = reference wall / tool wall
    assert s3pump["starts_per_s_vs_s5cmd"] == pytest.approx(0.015 / 0.20)
    assert s3pump["starts_per_s_vs_aws2"] == pytest.approx(0.60 / 0.20)


def test_report_has_the_issue_rows_in_one_table_and_the_start_up_case(tmp_path: Path) -> None:
    written = report.write_all(_meta(), _records(), tmp_path, "t")
    md = (tmp_path / "t.md").read_text()
    head = md[md.index("## Summary"):md.index("## Start-up")]
    lines = [line for line in head.splitlines() if line.startswith("| get") or
             line.startswith("| put")]
    assert [line.split(" (")[0] for line in lines] == [
        "| get one object by key", "| get xl", "| get sw-medium-crc", "| put xl"]
    one = lines[0].split(" | ")
    assert one[1:6] == ["0.20", "0.01", "0.60", "0.07x", "3.00x"]  # s3pump, s5cmd, aws2, ratios
    xl = lines[1].split(" | ")  # CPU is half the wall in these records
    assert xl[1:10] == ["2.00", "1.50", "8.00", "0.75x", "4.00x", "1.00", "0.75", "60", "19 |"]
    put = lines[3].split(" | ")
    assert put[1:5] == ["3.00", "4.00", "—", "1.33x"] and put[8] == "120"
    assert one[6:8] == ["0.10", "0.01"]  # median CPU of the start-up runs
    assert "SeaweedFS weed mini" in md and "not with rclone's" in md
    assert "| s3pump | 3/4 | 0.200 |" in md
    doc = json.loads((tmp_path / "t.json").read_text())
    assert [r["tool"] for r in doc["startup"]] == ["s3pump", "s5cmd", "aws2"]
    assert {r["dataset"] for r in doc["uploads"]} == {"xl"}
    assert tmp_path / "t.md" in written


def test_start_up_log_files_are_one_per_repetition() -> None:
    rec = {"kind": "one", "dataset": "one", "round": 2, "rep": 4}
    assert run._log_stem(rec, "s3pump") == "one-s3pump-one-r2-4"
    assert run._log_stem({"kind": "get", "dataset": "xl", "round": 1}, "s5cmd") == "get-s5cmd-xl-r1"


def test_work_dir_moves_where_downloads_land(tmp_path: Path) -> None:
    assert run.parse_args([]).work_dir is None
    plan = run.parse_args(["--work-dir", str(tmp_path / "w"), "--datasets", "small"])
    assert plan.work_dir == (tmp_path / "w").resolve()
