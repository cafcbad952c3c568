"""Requests go where the AWS configuration says, on every transport, and nowhere else.

The AWS configuration lives in temporary shared files (never an ``AWS_ENDPOINT_URL*`` unless
the test is about it). Every test sets ``HTTPS_PROXY`` (and most ``HTTP_PROXY``) to a local
catch-all listener (:class:`tests._endpoints.CatchAll`): a request aimed anywhere but the
configured server is caught on 127.0.0.1 and fails the test; nothing can leave the machine.
Tests that need to see where a request *would* go aim it at an unresolvable host through the
catch-all as an HTTP proxy, which records the absolute URL and the signature's scope.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3pump import AsyncPump
from s3pump._errors import ConfigError
from tests._endpoints import (
    CatchAll,
    run_main,
    use_aws_files,
)

TRANSPORTS = ("lean", "auto", "reference")
KEYS = "aws_access_key_id = AKIDFILE\naws_secret_access_key = secret-file\n"
BIG = 20 * 1024 * 1024  # a multipart upload (the threshold is 16 MiB)


def _configure(monkeypatch: pytest.MonkeyPatch, directory: Path, config: str,
               credentials: str = f"[default]\n{KEYS}") -> None:
    use_aws_files(monkeypatch, directory, config, credentials)


def _run(verb: str, *argv: str) -> int:
    """The s3pump command, one try per request (a request caught by the trap fails fast)."""
    return run_main([verb, "--max-attempts", "1", "--no-progress", *argv])


def _profile_config(form: str, url: str) -> str:
    if form == "profile":
        return f"[default]\nregion = us-east-1\nendpoint_url = {url}\n"
    return (f"[default]\nregion = us-east-1\nservices = here\n"
            f"[services here]\ns3 =\n  endpoint_url = {url}\n")


@pytest.mark.parametrize("form", ["profile", "services"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_profile_endpoint_serves_ls_get_and_multipart_put(
    transport: str, form: str, trap: CatchAll, endpoint: str, bucket: str, s3: Any,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A profile's endpoint_url (or its services section) is where every request goes: the
    listing, the download and every part of a 20 MiB multipart upload reach moto."""
    _configure(monkeypatch, tmp_path, _profile_config(form, endpoint))
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{endpoint.rsplit(':', 1)[1]}")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG))
    s3.put_object(Bucket=bucket, Key="seed/small.txt", Body=b"small")

    assert _run("put", "--transport", transport, str(big), f"s3://{bucket}/up/big.bin") == 0
    assert _run("ls", "--transport", transport, f"s3://{bucket}/seed/") == 0
    assert "small.txt" in capsys.readouterr().out
    out = tmp_path / "back.bin"
    assert _run("get", "--transport", transport, f"s3://{bucket}/up/big.bin", str(out)) == 0

    assert out.read_bytes() == big.read_bytes()
    head = s3.head_object(Bucket=bucket, Key="up/big.bin")
    assert head["ContentLength"] == BIG and "-" in head["ETag"]  # multipart, all in moto
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert trap.targets() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_leftover_s3_endpoint_never_overrides_the_profile(
    transport: str, trap: CatchAll, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(monkeypatch, tmp_path, _profile_config("profile", endpoint))
    monkeypatch.setenv("S3_ENDPOINT", trap.url)  # would be caught if it were used
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"x")
    assert _run("ls", "--transport", transport, f"s3://{bucket}/") == 0
    assert "k.txt" in capsys.readouterr().out
    assert trap.targets() == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_proxy_host_and_port_bypasses_the_proxy(
    transport: str, trap: CatchAll, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY=127.0.0.1:PORT sends moto's requests direct; another port does not."""
    _configure(monkeypatch, tmp_path, _profile_config("profile", endpoint))
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    port = endpoint.rsplit(":", 1)[1]
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"payload")
    monkeypatch.setenv("NO_PROXY", f"localhost,127.0.0.1:{port}")
    out = tmp_path / "k.txt"
    assert _run("get", "--transport", transport, f"s3://{bucket}/k.txt", str(out)) == 0
    assert out.read_bytes() == b"payload"
    assert trap.targets() == []

    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{int(port) + 1}")
    assert _run("get", "--transport", transport, f"s3://{bucket}/k.txt",
                str(tmp_path / "again.txt")) != 0
    assert trap.targets() and all(t.startswith(f"http://127.0.0.1:{port}/")
                                  for t in trap.targets())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ignore_configured_endpoint_urls_goes_to_aws(
    transport: str, trap: CatchAll, endpoint: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true neither the profile's endpoint nor
    AWS_ENDPOINT_URL nor S3_ENDPOINT is used: the request is aimed at AWS (and caught here)."""
    _configure(monkeypatch, tmp_path, _profile_config("profile", endpoint))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("S3_ENDPOINT", endpoint)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert _run("ls", "--transport", transport, "s3://some-bucket/") != 0
    targets = trap.targets()
    assert targets and all(re.fullmatch(r"([a-z0-9-]+\.)?s3\.amazonaws\.com:443", t)
                           for t in targets), targets


def _where(trap: CatchAll) -> list[tuple[str, str, str]]:
    """(URL, signing region, access key) of each request the catch-all saw as an HTTP proxy."""
    seen = []
    for caught in trap.caught:
        scope = re.search(r"Credential=([^/]+)/\d{8}/([^/]+)/s3/",
                          caught.headers.get("authorization", ""))
        assert scope, caught
        seen.append((caught.target, scope.group(2), scope.group(1)))
    return seen


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_addressing_style_and_region_from_the_config_file(
    transport: str, style: str, trap: CatchAll, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The profile's ``s3 = addressing_style`` and ``region`` shape the request (seen by the
    catch-all acting as the HTTP proxy for an endpoint that does not exist)."""
    _configure(monkeypatch, tmp_path,
               f"[profile team]\nregion = eu-west-2\nendpoint_url = http://s3.example.test\n"
               f"s3 =\n  addressing_style = {style}\n",
               credentials=f"[team]\n{KEYS}")
    monkeypatch.setenv("AWS_PROFILE", "team")
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    assert _run("ls", "--transport", transport, "s3://data-bucket/x/") != 0
    seen = _where(trap)
    assert seen
    for url, region, key in seen:
        expected = ("http://data-bucket.s3.example.test/" if style == "virtual"
                    else "http://s3.example.test/data-bucket")
        assert url.startswith(expected), url
        assert (region, key) == ("eu-west-2", "AKIDFILE")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_aws_region_gives_the_same_answer_with_and_without_a_config_file(
    transport: str, trap: CatchAll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS_REGION is read (as the AWS CLI v2 reads it) whether or not a config file exists:
    the region is the same either way (before, it won or lost with the file)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    monkeypatch.setenv("AWS_REGION", "us-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://s3.example.test")
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    regions = []
    for config in (None, "[default]\noutput = json\n"):
        trap.caught.clear()
        if config is None:
            monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
            monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
        else:
            _configure(monkeypatch, tmp_path, config, credentials="")
        assert _run("ls", "--transport", transport, "s3://data-bucket/") != 0
        regions.append({region for _, region, _ in _where(trap)})
    assert regions == [{"us-west-1"}, {"us-west-1"}]


def test_max_attempts_from_flag_environment_and_profile(
    trap: CatchAll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tries per request: --max-attempts > AWS_MAX_ATTEMPTS > the profile's max_attempts."""
    _configure(monkeypatch, tmp_path,
               "[default]\nendpoint_url = http://s3.example.test\nmax_attempts = 3\n")
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    argv = ["ls", "--no-progress", "--transport", "lean", "s3://data-bucket/"]

    def tries(*extra: str) -> int:
        trap.caught.clear()
        assert run_main([*argv[:-1], *extra, argv[-1]]) != 0
        return len(trap.caught)

    assert tries() == 3
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert tries() == 2
    assert tries("--max-attempts", "1") == 1


def test_max_attempts_resolution_in_the_library(
    trap: CatchAll, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from s3pump import TransferConfig

    _configure(monkeypatch, tmp_path, "[default]\nmax_attempts = 4\n[profile p]\n"
               "max_attempts = 7\n")
    assert AsyncPump().config.max_attempts == 4
    assert AsyncPump(profile="p").config.max_attempts == 7
    assert AsyncPump(config=TransferConfig(max_attempts=6)).config.max_attempts == 6
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    assert AsyncPump(profile="p").config.max_attempts == 5
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "lots")
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS"):
        AsyncPump()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint-url", ""], "endpoint"),
        (["--profile", ""], "profile"),
        (["--profile", "nope"], "could not be found"),
        (["--max-attempts", "0"], "--max-attempts"),
    ],
)
def test_bad_configuration_is_one_line_exit_2(
    argv: list[str], message: str, trap: CatchAll, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(monkeypatch, tmp_path, "[default]\nendpoint_url = http://s3.example.test\n")
    monkeypatch.setenv("HTTP_PROXY", trap.url)
    assert run_main(["ls", *argv, "s3://data-bucket/"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert trap.targets() == []


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("transport", ["lean", "auto"])
def test_static_keys_in_the_files_do_not_import_botocore(
    transport: str, trap: CatchAll, endpoint: str, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile with an endpoint and static keys is resolved without botocore: `--help` and
    a one-object get import neither botocore nor aiobotocore."""
    _configure(monkeypatch, tmp_path, _profile_config("profile", endpoint))
    s3.put_object(Bucket=bucket, Key="one.txt", Body=b"one")
    out = tmp_path / "one.txt"
    code = (
        "import sys\nfrom s3pump._cli import main\n"
        f"rc = main(['get', '--no-progress', '--transport', '{transport}', "
        f"'s3://{bucket}/one.txt', {str(out)!r}])\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('botocore', 'aiobotocore')))"
    )
    assert _python(code, dict(os.environ)) == "0 []"
    assert out.read_bytes() == b"one"
    help_code = ("import sys\nfrom s3pump._cli import main\ntry:\n    main(['--help'])\n"
                 "except SystemExit:\n    pass\nprint('botocore' in sys.modules)")
    assert _python(help_code, dict(os.environ)).endswith("False")
    assert trap.targets() == []
