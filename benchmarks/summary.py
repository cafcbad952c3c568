"""The start-up case's rows and table, and the headline table (the issue's: one row per case).

Kept apart from report.py, which renders the per-dataset tables and the chart; both read the
same rows, so the headline, the detail tables and the chart always come from the same run.
"""

from __future__ import annotations

import statistics
from typing import Any

REFERENCES = ("s5cmd", "aws2")
STARTUP_RATIOS = ("starts_per_s", "cpu_ms", "peak_rss_mib")


def _ratio(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or ref == 0:
        return None
    return value / ref


def _fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _fmt_ratio(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def startup_rows(meta: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, tool) of the start-up case: medians over every verified repetition
    of every round (wall s, CPU ms, peak RSS, server CPU ms), and ratios to s5cmd and aws v2.

    `starts_per_s` (1 / median wall) carries the speed ratio: reference wall / tool wall, so
    higher is faster, as for the transfers.
    """
    order = meta["order"]
    rows: list[dict[str, Any]] = []
    for ds in order.get("one_datasets", []):
        values: dict[str, dict[str, float | None]] = {}
        counts: dict[str, tuple[int, int, list[str]]] = {}
        for tool in {*order.get("one", []), *REFERENCES}:
            runs = [r for r in records
                    if r["kind"] == "one" and r["dataset"] == ds and r["tool"] == tool]
            good = [r for r in runs if r.get("ok")]
            errors = list(dict.fromkeys(str(r.get("error", "?")) for r in runs if not r.get("ok")))
            counts[tool] = (len(good), len(runs) - len(good), errors)
            if not good:
                values[tool] = {"wall_s": None, "starts_per_s": None, "cpu_ms": None,
                                "peak_rss_mib": None, "server_cpu_ms": None}
                continue
            wall = statistics.median(r["wall_s"] for r in good)
            values[tool] = {
                "wall_s": wall,
                "starts_per_s": 1 / wall if wall else None,
                "cpu_ms": 1000 * statistics.median(r["cpu_s"] for r in good),
                "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in good),
                "server_cpu_ms": 1000 * statistics.median(r["server_cpu_s"] for r in good),
            }
        for tool in order.get("one", []):
            ok, failed, errors = counts[tool]
            row: dict[str, Any] = {"dataset": ds, "tool": tool, **values[tool],
                                   "ok_runs": ok, "failed_runs": failed, "errors": errors}
            for ref in REFERENCES:
                for metric in STARTUP_RATIOS:
                    row[f"{metric}_vs_{ref}"] = _ratio(values[tool][metric], values[ref][metric])
            rows.append(row)
    return rows


def startup_table(meta: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Markdown of the start-up case."""
    if not rows:
        return []
    labels = meta.get("one_tools", {})
    reps = meta.get("startup_reps", 1)
    lines = [
        "## Start-up: one small object by key (`get s3://bucket/KEY DIR/`)",
        "",
        f"A whole process per run, {reps} runs per tool per round (interleaved), medians over "
        "every verified run. Speed ratio = reference wall / tool wall (higher is faster).",
        "",
    ]
    for ds in meta["order"].get("one_datasets", []):
        info = meta["datasets"][ds]
        lines += [
            f"### {ds}: {info['describe']}",
            "",
            "| tool | verified runs | wall s | CPU ms | peak RSS MiB | server CPU ms | "
            "speed vs s5cmd | speed vs aws v2 | CPU vs s5cmd | CPU vs aws v2 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in (r for r in rows if r["dataset"] == ds):
            lines.append(
                f"| {labels.get(r['tool'], {}).get('label', r['tool'])} | "
                f"{r['ok_runs']}/{r['ok_runs'] + r['failed_runs']} | {_fmt(r['wall_s'], 3)} | "
                f"{_fmt(r['cpu_ms'])} | {_fmt(r['peak_rss_mib'])} | "
                f"{_fmt(r['server_cpu_ms'], 1)} | "
                f"{_fmt_ratio(r['starts_per_s_vs_s5cmd'])} | "
                f"{_fmt_ratio(r['starts_per_s_vs_aws2'])} | "
                f"{_fmt_ratio(r['cpu_ms_vs_s5cmd'])} | {_fmt_ratio(r['cpu_ms_vs_aws2'])} |"
            )
        lines.append("")
    return lines


def _row(r: dict[str, Any] | None, key: str) -> Any:
    return None if r is None else r.get(key)


def _cpu_s(r: dict[str, Any] | None, count: int) -> float | None:
    """Median client CPU seconds of a row: a start-up row's, or a transfer row's per object."""
    if r is None:
        return None
    if r.get("cpu_ms") is not None:
        return float(r["cpu_ms"]) / 1000
    per_object = r.get("cpu_ms_per_object")
    return None if per_object is None else per_object * count / 1000


def headline(
    meta: dict[str, Any],
    one_rows: list[dict[str, Any]],
    get_rows: list[dict[str, Any]],
    put_rows: list[dict[str, Any]],
) -> list[str]:
    """The issue's table: one row per case, s3pump's and the references' median wall, the
    ratios (reference wall / s3pump wall: above 1 s3pump is faster), client CPU (user+sys)
    and peak RSS."""
    cases: list[tuple[str, str, list[dict[str, Any]]]] = []
    cases += [(f"get one object by key ({meta['datasets'][d]['describe']})", d, one_rows)
              for d in meta["order"].get("one_datasets", [])]
    cases += [(f"get {d} ({meta['datasets'][d]['describe']})", d, get_rows)
              for d in meta["order"].get("get_datasets", [])]
    cases += [(f"put {d} ({meta['datasets'][d]['describe']})", d, put_rows)
              for d in meta["order"].get("put_datasets", [])]
    if not cases:
        return []
    lines = [
        "## Summary",
        "",
        "Median wall seconds of whole processes; ratio = reference wall / s3pump wall (above "
        "1.00x s3pump is faster); client CPU (user+sys) in seconds; peak RSS in MiB. Details "
        "per case below.",
        "",
        "| case | s3pump s | s5cmd s | aws v2 s | s3pump vs s5cmd | s3pump vs aws v2 | "
        "s3pump CPU s | s5cmd CPU s | s3pump RSS | s5cmd RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for title, ds, rows in cases:
        def find(tool: str, rows: list[dict[str, Any]] = rows, ds: str = ds) -> Any:
            return next((r for r in rows if r["dataset"] == ds and r["tool"] == tool), None)

        count = meta["datasets"][ds]["count"]
        walls = {}
        for tool in ("s3pump", *REFERENCES):
            r = find(tool)
            if r is not None and "wall_s" in r:
                walls[tool] = r["wall_s"]
            else:
                rate = _row(r, "objects_per_s")
                walls[tool] = count / rate if rate else None
        lines.append(
            f"| {title} | {_fmt(walls['s3pump'], 2)} | {_fmt(walls['s5cmd'], 2)} | "
            f"{_fmt(walls['aws2'], 2)} | {_fmt_ratio(_ratio(walls['s5cmd'], walls['s3pump']))} | "
            f"{_fmt_ratio(_ratio(walls['aws2'], walls['s3pump']))} | "
            f"{_fmt(_cpu_s(find('s3pump'), count), 2)} | {_fmt(_cpu_s(find('s5cmd'), count), 2)} | "
            f"{_fmt(_row(find('s3pump'), 'peak_rss_mib'))} | "
            f"{_fmt(_row(find('s5cmd'), 'peak_rss_mib'))} |"
        )
    lines.append("")
    return lines
