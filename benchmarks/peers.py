"""How each tool is run: one command line to download a prefix, one to upload a directory, one
to list a prefix.

Every peer runs with its defaults (what a user gets out of the box), quieted where it has a flag
for it so that per-file log lines do not cost CPU; static credentials come from the environment
(server.client_env). Where a tool has no bulk-download command (obstore, aiobotocore) a small
script in this folder stands in for what a user would write.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.server import ACCESS_KEY, REGION, SECRET_KEY

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Paths:
    """Where the project and the peers live (see scripts/bench for how they get there)."""

    root: Path

    @property
    def bench(self) -> Path:
        return self.root / ".bench"

    @property
    def s3pump(self) -> Path:
        return self.root / ".venv" / "bin" / "s3pump"

    @property
    def project_python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    @property
    def rclone(self) -> Path:
        return self.root / ".venv" / "bin" / "rclone"

    @property
    def peers_python(self) -> Path:
        return self.bench / "venv-peers" / "bin" / "python"

    @property
    def s5cmd(self) -> Path:
        return self.bench / "venv-peers" / "bin" / "s5cmd"

    @property
    def aws1(self) -> Path:
        return self.bench / "venv-awscli1" / "bin" / "aws"

    @property
    def aws2(self) -> Path:
        return Path("/usr/bin/aws")  # Debian's awscli package (2.9.x)


@dataclass(frozen=True)
class Context:
    paths: Paths
    endpoint_url: str
    jobs: int  # s3pump's -j; peers keep their own defaults


Argv = list[str]


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    executable: Callable[[Paths], Path]
    get: Callable[[Context, str, Path], Argv] | None = None  # (ctx, s3://bucket/prefix/, dest)
    put: Callable[[Context, Path, str], Argv] | None = None  # (ctx, source dir, s3://b/prefix/)
    ls: Callable[[Context, str], Argv] | None = None
    version: Callable[[Paths], Argv | str] = lambda _p: "?"
    env: Callable[[Context], dict[str, str]] = lambda _c: {}
    notes: tuple[str, ...] = field(default_factory=tuple)

    def installed(self, paths: Paths) -> bool:
        return self.executable(paths).exists()


def _py_version(dist: str) -> Callable[[Paths], Argv]:
    code = f"import importlib.metadata as m; print({dist!r}, m.version({dist!r}))"
    return lambda p: [str(p.peers_python), "-c", code]


def _script(ctx: Context, name: str, *args: str) -> Argv:
    """A script of this folder, run by the peers' venv."""
    return [
        str(ctx.paths.peers_python),
        str(HERE / name),
        *args,
        "--endpoint-url",
        ctx.endpoint_url,
    ]


def _s3pump_version(p: Paths) -> Argv:
    code = "import importlib.metadata as m; print('s3pump', m.version('s3pump'))"
    return [str(p.project_python), "-c", code]


def _rclone_env(ctx: Context) -> dict[str, str]:
    # An on-the-fly remote named "bench", defined entirely by environment variables.
    return {
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": ctx.endpoint_url,
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS_KEY,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET_KEY,
        "RCLONE_CONFIG_BENCH_REGION": REGION,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    }


def _rclone_path(uri: str) -> str:
    return "bench:" + uri[len("s3://") :].rstrip("/")


DOWNLOAD_TOOLS: tuple[Tool, ...] = (
    Tool(
        "s3pump",
        "s3pump",
        lambda p: p.s3pump,
        get=lambda c, uri, dest: [
            str(c.paths.s3pump),
            "get",
            uri,
            str(dest),
            "--endpoint-url",
            c.endpoint_url,
            "--no-progress",
            "-q",
            "-j",
            str(c.jobs),
        ],
        version=_s3pump_version,
    ),
    Tool(
        "s5cmd",
        "s5cmd (Go)",
        lambda p: p.s5cmd,
        get=lambda c, uri, dest: [
            str(c.paths.s5cmd),
            "--log",
            "error",
            "--endpoint-url",
            c.endpoint_url,
            "cp",
            uri + "*",
            str(dest) + "/",
        ],
        version=lambda p: [str(p.s5cmd), "version"],
        notes=("defaults: --numworkers 256, cp --concurrency 5 parts per file",),
    ),
    Tool(
        "aws2",
        "AWS CLI v2",
        lambda p: p.aws2,
        get=lambda c, uri, dest: [
            str(c.paths.aws2),
            "--endpoint-url",
            c.endpoint_url,
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            uri,
            str(dest),
        ],
        version=lambda p: [str(p.aws2), "--version"],
        notes=("Debian package awscli; defaults: 10 threads, 8 MiB multipart threshold",),
    ),
    Tool(
        "aws1",
        "AWS CLI v1",
        lambda p: p.aws1,
        get=lambda c, uri, dest: [
            str(c.paths.aws1),
            "--endpoint-url",
            c.endpoint_url,
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            uri,
            str(dest),
        ],
        version=lambda p: [str(p.aws1), "--version"],
        notes=("pip awscli in its own venv; defaults: 10 threads",),
    ),
    Tool(
        "rclone",
        "rclone copy",
        lambda p: p.rclone,
        get=lambda c, uri, dest: [
            str(c.paths.rclone),
            "copy",
            "--config",
            "/dev/null",
            _rclone_path(uri),
            str(dest),
        ],
        version=lambda p: [str(p.rclone), "version"],
        env=_rclone_env,
        notes=("defaults: --transfers 4 --checkers 8; verifies MD5 of each download",),
    ),
    Tool(
        "s3fs",
        "s3fs get",
        lambda p: p.peers_python,
        get=lambda c, uri, dest: _script(c, "s3fs_get.py", uri, str(dest)),
        version=_py_version("s3fs"),
    ),
    Tool(
        "obstore",
        "obstore (Rust)",
        lambda p: p.peers_python,
        get=lambda c, uri, dest: _script(c, "obstore_peer.py", "get", uri, str(dest)),
        version=_py_version("obstore"),
        notes=("script: list + get_async, 64 concurrent, one thread hop per small file",),
    ),
    Tool(
        "aiobotocore",
        "naive aiobotocore",
        lambda p: p.peers_python,
        get=lambda c, uri, dest: _script(c, "naive_aiobotocore.py", "get", uri, str(dest)),
        version=_py_version("aiobotocore"),
        notes=("Semaphore(25) + gather + aiofiles, whole body in memory",),
    ),
)

UPLOAD_TOOLS: tuple[Tool, ...] = (
    Tool(
        "s3pump",
        "s3pump",
        lambda p: p.s3pump,
        put=lambda c, src, uri: [
            str(c.paths.s3pump),
            "put",
            str(src),
            uri,
            "--endpoint-url",
            c.endpoint_url,
            "--no-progress",
            "-q",
            "-j",
            str(c.jobs),
            # Each run gets a fresh prefix anyway; --exist-ok skips the one-page "is the prefix
            # empty?" listing, which neither `aws s3 cp` nor `s5cmd cp` makes.
            "--exist-ok",
        ],
        version=_s3pump_version,
    ),
    Tool(
        "s5cmd",
        "s5cmd (Go)",
        lambda p: p.s5cmd,
        put=lambda c, src, uri: [
            str(c.paths.s5cmd),
            "--log",
            "error",
            "--endpoint-url",
            c.endpoint_url,
            "cp",
            str(src) + "/*",
            uri,
        ],
        version=lambda p: [str(p.s5cmd), "version"],
        notes=("defaults: --numworkers 256, cp --concurrency 5 parts per file",),
    ),
    Tool(
        "aws2",
        "AWS CLI v2",
        lambda p: p.aws2,
        put=lambda c, src, uri: [
            str(c.paths.aws2),
            "--endpoint-url",
            c.endpoint_url,
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            str(src),
            uri,
        ],
        version=lambda p: [str(p.aws2), "--version"],
        notes=("Debian package awscli; defaults: 10 threads, 8 MiB multipart threshold",),
    ),
    Tool(
        "aws1",
        "AWS CLI v1",
        lambda p: p.aws1,
        put=lambda c, src, uri: [
            str(c.paths.aws1),
            "--endpoint-url",
            c.endpoint_url,
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            str(src),
            uri,
        ],
        version=lambda p: [str(p.aws1), "--version"],
        notes=("pip awscli in its own venv; defaults: 10 threads",),
    ),
    Tool(
        "rclone",
        "rclone copy",
        lambda p: p.rclone,
        put=lambda c, src, uri: [
            str(c.paths.rclone),
            "copy",
            "--config",
            "/dev/null",
            str(src),
            _rclone_path(uri),
        ],
        version=lambda p: [str(p.rclone), "version"],
        env=_rclone_env,
        notes=("defaults: --transfers 4 --checkers 8; lists the destination first",),
    ),
)

LIST_TOOLS: tuple[Tool, ...] = (
    Tool(
        "s3pump",
        "s3pump ls -r",
        lambda p: p.s3pump,
        ls=lambda c, uri: [str(c.paths.s3pump), "ls", "-r", uri, "--endpoint-url", c.endpoint_url],
        version=_s3pump_version,
    ),
    Tool(
        "s5cmd",
        "s5cmd ls",
        lambda p: p.s5cmd,
        ls=lambda c, uri: [str(c.paths.s5cmd), "--endpoint-url", c.endpoint_url, "ls", uri + "*"],
        version=lambda p: [str(p.s5cmd), "version"],
    ),
    Tool(
        "aws2",
        "aws s3 ls (v2)",
        lambda p: p.aws2,
        ls=lambda c, uri: [
            str(c.paths.aws2),
            "--endpoint-url",
            c.endpoint_url,
            "s3",
            "ls",
            "--recursive",
            uri,
        ],
        version=lambda p: [str(p.aws2), "--version"],
    ),
    Tool(
        "aiobotocore",
        "aiobotocore paginator",
        lambda p: p.peers_python,
        ls=lambda c, uri: _script(c, "naive_aiobotocore.py", "ls", uri),
        version=_py_version("aiobotocore"),
    ),
    Tool(
        "obstore",
        "obstore list",
        lambda p: p.peers_python,
        ls=lambda c, uri: _script(c, "obstore_peer.py", "ls", uri),
        version=_py_version("obstore"),
    ),
    Tool(
        "rclone",
        "rclone lsf -R",
        lambda p: p.rclone,
        ls=lambda c, uri: [
            str(c.paths.rclone),
            "lsf",
            "-R",
            "--files-only",
            "--config",
            "/dev/null",
            _rclone_path(uri),
        ],
        version=lambda p: [str(p.rclone), "version"],
        env=_rclone_env,
    ),
)

ALL_NAMES = tuple(dict.fromkeys(t.name for t in (*DOWNLOAD_TOOLS, *UPLOAD_TOOLS, *LIST_TOOLS)))


def tool_version(tool: Tool, paths: Paths) -> str:
    """The tool's own version line, or why it could not be had."""
    spec = tool.version(paths)
    if isinstance(spec, str):
        return spec
    try:
        out = subprocess.run(spec, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0 or not text:
        return f"unavailable (exit {out.returncode})"
    return text[0].strip()
