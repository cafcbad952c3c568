"""Turn run records into results: medians, ratios to s5cmd and AWS CLI v2, markdown, JSON, PNG.

Only verified runs count. Each figure is the median over a tool's verified runs; rates are
computed from the median wall time. Ratios are "this tool / reference" for the same dataset in the
same run, so for objects/s, MiB/s and keys/s higher is better, for CPU and RSS lower is better.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import summary

REFERENCES = ("s5cmd", "aws2")
REF_LABEL = {"s5cmd": "s5cmd", "aws2": "aws v2"}


@dataclass
class Summary:
    tool: str
    dataset: str
    kind: str
    ok_runs: int
    failed_runs: int
    errors: list[str]
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mib: float | None = None
    server_cpu_s: float | None = None

    def rate(self, count: int) -> float | None:
        return count / self.wall_s if self.wall_s else None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarize(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], Summary]:
    out: dict[tuple[str, str, str], Summary] = {}
    for rec in records:
        key = (rec["kind"], rec["dataset"], rec["tool"])
        s = out.setdefault(key, Summary(rec["tool"], rec["dataset"], rec["kind"], 0, 0, []))
        if rec.get("ok"):
            s.ok_runs += 1
        else:
            s.failed_runs += 1
            err = str(rec.get("error", "?"))
            if err not in s.errors:
                s.errors.append(err)
    for (kind, ds, tool), s in out.items():
        good = [
            r
            for r in records
            if r.get("ok") and (r["kind"], r["dataset"], r["tool"]) == (kind, ds, tool)
        ]
        if good:
            s.wall_s = statistics.median(r["wall_s"] for r in good)
            s.cpu_s = statistics.median(r["cpu_s"] for r in good)
            s.rss_mib = statistics.median(r["peak_rss_mib"] for r in good)
            s.server_cpu_s = statistics.median(r["server_cpu_s"] for r in good)
    return out


def _ratio(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or ref == 0:
        return None
    return value / ref


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def _fmt_ratio(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def download_rows(
    meta: dict[str, Any], sums: dict[tuple[str, str, str], Summary]
) -> list[dict[str, Any]]:
    """One row per (dataset, tool) with values and ratios; the JSON and the markdown use these."""
    return transfer_rows(meta, sums, "get")


def upload_rows(
    meta: dict[str, Any], sums: dict[tuple[str, str, str], Summary]
) -> list[dict[str, Any]]:
    """As download_rows, for the uploads (absent from results made before uploads existed)."""
    return transfer_rows(meta, sums, "put")


def _wall(s: Summary) -> float:
    assert s.wall_s is not None
    return s.wall_s


# The figures of a row, each from (summary, dataset's object count, total bytes); the summary
# has a median wall time. A tool without one gets None for each.
_Figure = Callable[[Summary, int, int], float | None]
TRANSFER_FIGURES: dict[str, _Figure] = {
    "objects_per_s": lambda s, count, _t: count / _wall(s),
    "mib_per_s": lambda s, _c, total: total / 1024**2 / _wall(s),
    "cpu_ms_per_object": lambda s, count, _t: 1000 * (s.cpu_s or 0) / count,
    "peak_rss_mib": lambda s, _c, _t: s.rss_mib,
    "server_cpu_ms_per_object": lambda s, count, _t: 1000 * (s.server_cpu_s or 0) / count,
}
LIST_FIGURES: dict[str, _Figure] = {
    "keys_per_s": lambda s, count, _t: count / _wall(s),
    "cpu_ms_per_1k_keys": lambda s, count, _t: 1e6 * (s.cpu_s or 0) / count,
    "peak_rss_mib": lambda s, _c, _t: s.rss_mib,
    "server_cpu_ms_per_1k_keys": lambda s, count, _t: 1e6 * (s.server_cpu_s or 0) / count,
}
TRANSFER_RATIOS = ("objects_per_s", "mib_per_s", "cpu_ms_per_object", "peak_rss_mib")
LIST_RATIOS = ("keys_per_s", "cpu_ms_per_1k_keys", "peak_rss_mib")


def _rows(
    sums: dict[tuple[str, str, str], Summary],
    kind: str,
    dataset_names: list[str],
    tools: list[str],
    meta: dict[str, Any],
    figures: dict[str, _Figure],
    ratios: tuple[str, ...],
) -> list[dict[str, Any]]:
    """One row per (dataset, tool) of one kind: its figures, runs, errors and ratios."""
    rows: list[dict[str, Any]] = []
    for ds in dataset_names:
        info = meta["datasets"][ds]

        def values(tool: str, ds: str = ds, info: dict[str, Any] = info) -> dict[str, Any]:
            s = sums.get((kind, ds, tool))
            if s is None or s.wall_s is None:
                return dict.fromkeys(figures)
            return {k: f(s, info["count"], info["total_bytes"]) for k, f in figures.items()}

        refs = {r: values(r) for r in REFERENCES}
        for tool in tools:
            s = sums.get((kind, ds, tool))
            v = values(tool)
            row: dict[str, Any] = {"dataset": ds, "tool": tool, **v}
            row["ok_runs"] = s.ok_runs if s else 0
            row["failed_runs"] = s.failed_runs if s else 0
            row["errors"] = s.errors if s else []
            for ref, rv in refs.items():
                for metric in ratios:
                    row[f"{metric}_vs_{ref}"] = _ratio(v[metric], rv[metric])
            rows.append(row)
    return rows


def transfer_rows(
    meta: dict[str, Any], sums: dict[tuple[str, str, str], Summary], kind: str
) -> list[dict[str, Any]]:
    """Rows of one direction: kind "get" (downloads) or "put" (uploads)."""
    order = meta["order"]
    return _rows(
        sums,
        kind,
        order.get(f"{kind}_datasets", []),
        order.get(kind, []),
        meta,
        TRANSFER_FIGURES,
        TRANSFER_RATIOS,
    )


def list_rows(
    meta: dict[str, Any], sums: dict[tuple[str, str, str], Summary]
) -> list[dict[str, Any]]:
    order = meta["order"]
    return _rows(sums, "ls", order["list_datasets"], order["ls"], meta, LIST_FIGURES, LIST_RATIOS)


def _label(meta: dict[str, Any], tool: str, kind: str) -> str:
    table = {"get": meta["tools"], "put": meta.get("put_tools", {}),
             "one": meta.get("one_tools", {})}.get(kind, meta["list_tools"])
    return str(table.get(tool, {}).get("label", tool))


def _transfer_tables(meta: dict[str, Any], rows: list[dict[str, Any]], kind: str) -> list[str]:
    """The tables of one direction ("get" or "put"): values, then ratios, for each dataset."""
    lines: list[str] = []
    for ds in meta["order"][f"{kind}_datasets"]:
        info = meta["datasets"][ds]
        total_mib = info["total_bytes"] / 1024**2
        lines += [f"### {ds}: {info['describe']} ({total_mib:,.0f} MiB)", ""]
        lines += [
            "| tool | verified runs | objects/s | MiB/s | CPU ms/object | peak RSS MiB | "
            "server CPU ms/object |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        ds_rows = [r for r in rows if r["dataset"] == ds]
        for r in ds_rows:
            runs = f"{r['ok_runs']}/{r['ok_runs'] + r['failed_runs']}"
            digits = 1 if (r["objects_per_s"] or 0) < 100 else 0
            lines.append(
                f"| {_label(meta, r['tool'], kind)} | {runs} | "
                f"{_fmt(r['objects_per_s'], digits)} | {_fmt(r['mib_per_s'], 1)} | "
                f"{_fmt(r['cpu_ms_per_object'], 2)} | {_fmt(r['peak_rss_mib'])} | "
                f"{_fmt(r['server_cpu_ms_per_object'], 2)} |"
            )
        lines += [
            "",
            "Ratios (objects/s and MiB/s share one ratio: higher is faster; "
            "CPU and RSS: lower is leaner):",
            "",
            "| tool | speed vs s5cmd | speed vs aws v2 | CPU/object vs s5cmd | "
            "CPU/object vs aws v2 | RSS vs s5cmd | RSS vs aws v2 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in ds_rows:
            lines.append(
                f"| {_label(meta, r['tool'], kind)} | "
                + " | ".join(
                    _fmt_ratio(r[f"{metric}_vs_{ref}"])
                    for metric in ("objects_per_s", "cpu_ms_per_object", "peak_rss_mib")
                    for ref in REFERENCES
                )
                + " |"
            )
        lines.append("")
    return lines


def markdown(
    meta: dict[str, Any],
    get_rows: list[dict[str, Any]],
    ls_rows: list[dict[str, Any]],
    png_name: str | None,
    put_rows: list[dict[str, Any]] | None = None,
    one_rows: list[dict[str, Any]] | None = None,
) -> str:
    m = meta["machine"]
    lines = [
        "# s3pump benchmark results",
        "",
        f"- date: {meta['date']} (took {meta['duration_s']:.0f} s)",
        f"- command: `{meta['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; "
        f"load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f} "
        "(a shared machine: other work adds noise)",
        f"- server: {meta['server']}"
        + (
            f"; the sw-* datasets on {meta['servers']['seaweed']} (every tool against it; "
            "its figures compare with each other, not with rclone's)"
            if "seaweed" in meta.get("servers", {})
            else ""
        )
        + (
            f", behind a latency proxy adding {meta['latency_ms']:g} ms RTT"
            if meta["latency_ms"]
            else ", no added latency"
        ),
        f"- rounds: {meta['rounds']} (interleaved: every tool once per dataset per round); "
        "figures are medians over verified runs; s3pump ran with "
        f"`-j {meta['s3pump_jobs']}`, peers with their defaults",
        "- a run counts only if the destination holds exactly the dataset (file count, bytes, "
        "sha256 of every file); a listing only if it names every key",
        "",
        "## Versions",
        "",
    ]
    for tool, ver in meta["versions"].items():
        if tool == "s3pump":
            where = "work tree" if "s3pump_install" not in meta else (
                f"installed from the work tree, key {meta['s3pump_install']}")
            ver += f" (git {meta.get('git_head_at_start', '?')} at start, {where})"
        lines.append(f"- {tool}: {ver}")
    sources = meta.get("s3pump_sources", [])
    if len(sources) > 1:
        lines.append(
            f"- **s3pump's sources changed during this run** ({len(sources)} versions: "
            f"{', '.join(sources)}; each run's is in the JSON): its figures mix them"
        )
    lines.append("")
    lines += summary.headline(meta, one_rows or [], get_rows, put_rows or [])
    if png_name:
        lines += [f"![ratios vs s5cmd]({png_name})", ""]

    lines += summary.startup_table(meta, one_rows or [])
    if get_rows:
        lines += ["## Downloads (whole prefix into a fresh directory)", ""]
        lines += _transfer_tables(meta, get_rows, "get")
    if put_rows:
        lines += [
            "## Uploads (a local directory under a fresh prefix)",
            "",
            "The source is the dataset's local copy (the very files the server serves, warm in "
            "the page cache); the objects land in another bucket of the same directory, which "
            "must then hold exactly the dataset, and are deleted after each run.",
            "",
        ]
        lines += _transfer_tables(meta, put_rows, "put")
    if ls_rows:
        lines += ["## Listing (recursive, keys written to stdout)", ""]
        for ds in meta["order"]["list_datasets"]:
            info = meta["datasets"][ds]
            lines += [f"### {ds}: {info['count']:,} keys", ""]
            lines += [
                "| tool | verified runs | keys/s | CPU ms/1k keys | peak RSS MiB | "
                "server CPU ms/1k keys | keys/s vs s5cmd | keys/s vs aws v2 | CPU vs s5cmd | "
                "CPU vs aws v2 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for r in (r for r in ls_rows if r["dataset"] == ds):
                runs = f"{r['ok_runs']}/{r['ok_runs'] + r['failed_runs']}"
                lines.append(
                    f"| {_label(meta, r['tool'], 'ls')} | {runs} | {_fmt(r['keys_per_s'])} | "
                    f"{_fmt(r['cpu_ms_per_1k_keys'], 1)} | {_fmt(r['peak_rss_mib'])} | "
                    f"{_fmt(r['server_cpu_ms_per_1k_keys'], 1)} | "
                    f"{_fmt_ratio(r['keys_per_s_vs_s5cmd'])} | "
                    f"{_fmt_ratio(r['keys_per_s_vs_aws2'])} | "
                    f"{_fmt_ratio(r['cpu_ms_per_1k_keys_vs_s5cmd'])} | "
                    f"{_fmt_ratio(r['cpu_ms_per_1k_keys_vs_aws2'])} |"
                )
            lines.append("")

    failures = [
        (k, r)
        for k, rows in (
            ("one", one_rows or []), ("get", get_rows), ("put", put_rows or []), ("ls", ls_rows)
        )
        for r in rows
        if r["errors"]
    ]
    if failures:
        lines += ["## Failures (runs that did not verify are not results)", ""]
        for kind, r in failures:
            for err in r["errors"]:
                text = err if len(err) < 400 else err[:400] + "…"
                lines.append(f"- {kind} {r['dataset']} / {r['tool']}: {text.replace('|', '/')}")
        lines.append("")
    notes = [(t, n) for t, v in meta["tools"].items() for n in v["notes"]]
    lines += [
        "## Notes",
        "",
        "- CPU is user+sys of the client's process tree (os.wait4); peak RSS is the largest "
        "single process of that tree (ru_maxrss through GNU time, so the harness's own pages are "
        "not counted). Server CPU is rclone's, sampled around each run.",
        "- Tools written in Python pay the start-up of the interpreter and of their imports in "
        "every run; it weighs most on the medium and large datasets, where runs are short.",
        "- The server runs on the same 2 cores as the client: a client that needs less CPU "
        "leaves more for the server, which is part of what is measured.",
    ]
    lines += [f"- {meta['tools'][t]['label']}: {n}" for t, n in notes]
    lines += [f"- {v['label']} (start-up): {n}" for v in meta.get("one_tools", {}).values()
              for n in v["notes"]]
    if "seaweed" in meta.get("servers", {}):
        lines.append(
            "- sw-* datasets: the same sizes as medium and large, served by SeaweedFS (one PUT "
            "per object): sw-X with an MD5 ETag only, sw-X-crc with a CRC64NVME full-object "
            "checksum too, which tools that verify may check instead of the MD5. rclone serve "
            "s3 keeps no checksums, hence the second server."
        )
    if put_rows:
        put_tools = meta.get("put_tools", {})
        lines += [
            f"- {v['label']} (uploads): {n}"
            for t, v in put_tools.items()
            for n in v["notes"]
            if t not in meta["tools"] or n not in meta["tools"][t]["notes"]
        ]
        lines.append(
            "- Uploads: server CPU includes rclone hashing each object (MD5 for its ETag) and "
            "writing it to disk, and joining the parts of multipart uploads. The `sync` after "
            "each run is not timed."
        )
    lines.append("")
    return "\n".join(lines)


def _minor_label(value: float, _pos: int) -> str:
    """Label only the 2, 3 and 5 minor ticks of a log axis (1.0 and 10 are major ticks)."""
    mantissa = f"{value:.0e}"[0]
    return f"{value:g}x" if mantissa in "235" else ""


def chart(
    meta: dict[str, Any],
    get_rows: list[dict[str, Any]],
    ls_rows: list[dict[str, Any]],
    path: Path,
    put_rows: list[dict[str, Any]] | None = None,
    one_rows: list[dict[str, Any]] | None = None,
) -> bool:
    """Grouped bars of ratios vs s5cmd (log scale, 1.0 marked). False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    panels: list[tuple[str, list[dict[str, Any]], str, list[str], list[str], str]] = []
    for rows, kind, datasets_key, titled_metrics in (
        (
            one_rows,
            "one",
            "one_datasets",
            (("Start-up, one object by key: speed vs s5cmd (higher is faster)", "starts_per_s"),),
        ),
        (
            get_rows,
            "get",
            "get_datasets",
            (
                ("Download speed vs s5cmd (higher is faster)", "objects_per_s"),
                ("Client CPU per object vs s5cmd (lower is leaner)", "cpu_ms_per_object"),
            ),
        ),
        (
            put_rows,
            "put",
            "put_datasets",
            (
                ("Upload speed vs s5cmd (higher is faster)", "objects_per_s"),
                ("Upload client CPU per object vs s5cmd (lower is leaner)", "cpu_ms_per_object"),
            ),
        ),
        (
            ls_rows,
            "ls",
            "list_datasets",
            (("Listing keys/s vs s5cmd (higher is faster)", "keys_per_s"),),
        ),
    ):
        if rows:
            for title, metric in titled_metrics:
                panels.append(
                    (
                        title,
                        rows,
                        f"{metric}_vs_s5cmd",
                        meta["order"][datasets_key],
                        meta["order"][kind],
                        kind,
                    )
                )
    if not panels:
        return False
    # Wider with many datasets in a panel (downloads have eight), so that labels do not collide.
    width_in = max(11.0, 2.0 + 1.6 * max(len(p[3]) for p in panels))
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(width_in, 3.6 * len(panels)), squeeze=False
    )
    from matplotlib.ticker import FuncFormatter

    # One colour per tool name across all panels (the listing panel has other tools).
    palette = plt.get_cmap("tab10")
    names = list(
        dict.fromkeys([*meta["order"].get("one", []), *meta["order"]["get"],
                       *meta["order"].get("put", []), *meta["order"]["ls"]])
    )
    color = {name: palette(i % 10) for i, name in enumerate(names)}
    for ax, (title, rows, metric, groups, tools, kind) in zip(axes[:, 0], panels, strict=True):
        width = 0.8 / max(1, len(tools))
        values: list[float] = [1.0]
        for ti, tool in enumerate(tools):
            xs, ys = [], []
            for gi, ds in enumerate(groups):
                row = next((r for r in rows if r["dataset"] == ds and r["tool"] == tool), None)
                x = gi + (ti - (len(tools) - 1) / 2) * width
                value = row[metric] if row else None
                if value is None:
                    # Written just above the x axis, in axes coordinates: there is no bar.
                    ax.text(
                        x,
                        0.03,
                        "failed",
                        rotation=90,
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color=color[tool],
                        transform=ax.get_xaxis_transform(),
                    )
                    continue
                xs.append(x)
                ys.append(value)
            values += ys
            ax.bar(xs, ys, width=width * 0.95, label=_label(meta, tool, kind), color=color[tool])
            for x, y in zip(xs, ys, strict=True):
                ax.text(x, y, f"{y:.2g}", ha="center", va="bottom", fontsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 1.6, max(values) * 1.6)
        ax.set_xlim(-0.5, len(groups) - 0.5)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor_label))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(
            [f"{g}\n" + meta["datasets"][g]["describe"].replace(", ", "\n", 1) for g in groups],
            fontsize=9,
        )
        ax.set_title(title, fontsize=11)
        ax.set_ylabel("ratio to s5cmd (log)")
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    latency = f", +{meta['latency_ms']:g} ms RTT" if meta["latency_ms"] else ""
    fig.suptitle(
        f"s3pump benchmarks, {meta['date'][:10]}, {meta['machine']['cores']} cores, "
        f"rclone serve s3 on loopback{latency}"
        + ("; sw-*: SeaweedFS" if "seaweed" in meta.get("servers", {}) else ""),
        fontsize=12,
    )
    # Keep about a third of an inch on top for the suptitle, whatever the number of panels.
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 1.0 - 0.35 / (3.6 * len(panels))))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(
    meta: dict[str, Any], records: list[dict[str, Any]], out_dir: Path, stem: str
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    sums = summarize(records)
    one_rows = summary.startup_rows(meta, records)
    get_rows = download_rows(meta, sums)
    put_rows = upload_rows(meta, sums)
    ls_rows = list_rows(meta, sums)
    png = out_dir / f"{stem}.png"
    has_png = chart(meta, get_rows, ls_rows, png, put_rows, one_rows)
    md = out_dir / f"{stem}.md"
    md.write_text(
        markdown(meta, get_rows, ls_rows, png.name if has_png else None, put_rows, one_rows)
    )
    js = out_dir / f"{stem}.json"
    doc: dict[str, Any] = {"meta": meta, "downloads": get_rows, "listing": ls_rows}
    if "one" in meta["order"]:
        doc["startup"] = one_rows
    if "put" in meta["order"]:
        doc["uploads"] = put_rows
    doc["runs"] = records
    js.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return [md, js, *([png] if has_png else [])]


def main(argv: list[str] | None = None) -> int:
    """Re-render the markdown and the chart from a results JSON: `python -m benchmarks.report F`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("json_file", type=Path)
    args = parser.parse_args(argv)
    doc = json.loads(args.json_file.read_text())
    for path in write_all(doc["meta"], doc["runs"], args.json_file.parent, args.json_file.stem):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
