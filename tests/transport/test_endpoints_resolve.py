"""s3pump's resolution of endpoint, region, addressing, proxy, CA bundle, max attempts and
static credentials, compared case by case with botocore's own answer for the same inputs.

Each case sets environment variables, writes a shared config and credentials file, and passes
explicit arguments; botocore builds an S3 client from exactly that (``client.meta``, its
endpoint's proxy and CA settings, its session's credentials) and s3pump's resolver must give
the same answers. No request is sent: only resolution is compared.

Where s3pump deliberately differs, the case says so and the test checks the difference:
``S3_ENDPOINT`` (s3pump's own, below every AWS source), ``NO_PROXY`` CIDR blocks (honoured,
as ``requests`` does), ``AWS_REGION`` (read first, as the AWS CLI v2 and the other SDKs do:
botocore is then given that region, which is what the AWS CLI v2 does), and ``stricter``
cases where s3pump refuses a configuration botocore would accept and act on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from s3pump._config import ClientConfig
from s3pump._errors import S3PumpError
from s3pump._transport._resolve import Resolved, resolve
from tests._endpoints import aws_files, clean_aws_environment

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secret-env"}
LOCAL = "http://127.0.0.1:9000"
PROXY = "http://127.0.0.1:3128"
PROCESS = "credential_process = @PROCESS@"  # a local script printing static keys
_SCRIPT = 'print(\'{"Version": 1, "AccessKeyId": "P", "SecretAccessKey": "S"}\')\n'


@dataclass
class Case:
    """One row: environment, files and arguments; what s3pump must do differently, if
    anything."""

    id: str
    env: dict[str, str] = field(default_factory=dict)
    config: str = ""
    credentials: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: str | None = None
    static: bool | None = None  # True: s3pump decides the keys; False: botocore's chain
    stricter: bool = False  # s3pump refuses what botocore accepts
    cidr: bool = False  # a NO_PROXY CIDR block s3pump honours and botocore does not
    lean: bool = True  # the lean path serves it (False: a variant only botocore knows)
    cli_region: str | None = None  # AWS_REGION, which the AWS CLI v2 reads and botocore not


CASES = [
    # -- endpoint precedence ---------------------------------------------------------------
    Case("aws-default", env=KEYS, static=True),
    Case("aws-region-env", env={**KEYS, "AWS_DEFAULT_REGION": "eu-west-1"}),
    Case("profile-endpoint", env=KEYS, config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("profile-endpoint-beats-s3-endpoint",
         env={**KEYS, "S3_ENDPOINT": "http://leftover:1"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("s3-endpoint-alone", env={**KEYS, "S3_ENDPOINT": "http://legacy:3"}),
    Case("env-endpoint-beats-profile", env={**KEYS, "AWS_ENDPOINT_URL": "http://generic:2"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("env-s3-beats-env-generic",
         env={**KEYS, "AWS_ENDPOINT_URL": "http://generic:2",
              "AWS_ENDPOINT_URL_S3": "http://specific:1", "S3_ENDPOINT": "http://legacy:3"}),
    Case("empty-env-endpoint-skipped",
         env={**KEYS, "AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "http://generic:2"}),
    Case("services-beats-profile-endpoint", env=KEYS,
         config=f"[default]\nservices = local\nendpoint_url = http://other:1\n"
                f"[services local]\ns3 =\n  endpoint_url = {LOCAL}\n"),
    Case("services-without-s3", env=KEYS,
         config=f"[default]\nservices = local\nendpoint_url = {LOCAL}\n"
                "[services local]\ndynamodb =\n  endpoint_url = http://dynamo:1\n"),
    Case("services-section-missing", env=KEYS,
         config="[default]\nservices = nowhere\n"),
    Case("services-env-wins-before-missing-section",
         env={**KEYS, "AWS_ENDPOINT_URL_S3": "http://specific:1"},
         config="[default]\nservices = nowhere\n"),
    Case("profile-nested-s3-endpoint-not-an-endpoint", env=KEYS,
         config=f"[default]\ns3 =\n  endpoint_url = {LOCAL}\n"),
    Case("endpoint-with-base-path", env=KEYS, config="[default]\nendpoint_url = "
         "https://objects.example:8443/base/\n"),
    Case("explicit-beats-all", endpoint_url="http://explicit:5",
         env={**KEYS, "AWS_ENDPOINT_URL_S3": "http://specific:1", "S3_ENDPOINT": "http://l:3",
              "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("blank-env-endpoint", env={**KEYS, "AWS_ENDPOINT_URL": " "}),
    Case("endpoint-without-scheme", env={**KEYS, "AWS_ENDPOINT_URL": "127.0.0.1:9000"}),
    Case("endpoint-ftp", env={**KEYS, "AWS_ENDPOINT_URL": "ftp://x"}, stricter=True),
    # -- ignoring configured endpoints -----------------------------------------------------
    Case("ignore-env-true",
         env={**KEYS, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
              "AWS_ENDPOINT_URL": "http://generic:2", "S3_ENDPOINT": "http://legacy:3"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("ignore-env-TRUE", env={**KEYS, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("ignore-env-1-is-not-true", env={**KEYS, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("ignore-config", env=KEYS,
         config=f"[default]\nendpoint_url = {LOCAL}\nignore_configured_endpoint_urls = true\n"),
    Case("ignore-config-explicit-still-used", env=KEYS, endpoint_url="http://explicit:5",
         config=f"[default]\nendpoint_url = {LOCAL}\nignore_configured_endpoint_urls = true\n"),
    Case("ignore-empty-env-shadows-config",
         env={**KEYS, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": ""},
         config=f"[default]\nendpoint_url = {LOCAL}\nignore_configured_endpoint_urls = true\n"),
    # -- profiles --------------------------------------------------------------------------
    Case("aws-profile-endpoint", env={**KEYS, "AWS_PROFILE": "dev"},
         config=f"[default]\nendpoint_url = http://default:1\n"
                f"[profile dev]\nendpoint_url = {LOCAL}\nregion = eu-central-1\n"),
    Case("default-profile-beats-profile", env={"AWS_DEFAULT_PROFILE": "a", "AWS_PROFILE": "b"},
         config="[profile a]\nendpoint_url = http://a:1\naws_access_key_id = A\n"
                "aws_secret_access_key = SA\n"
                "[profile b]\nendpoint_url = http://b:1\n", static=True),
    Case("explicit-profile", profile="b", env={"AWS_PROFILE": "a"},
         config="[profile a]\nendpoint_url = http://a:1\n"
                "[profile b]\nendpoint_url = http://b:1\nregion = ap-south-1\n",
         credentials="[b]\naws_access_key_id = B\naws_secret_access_key = SB\n", static=True),
    Case("profile-default-section-form", env=KEYS,
         config=f"[profile default]\nendpoint_url = {LOCAL}\n"),
    Case("quoted-profile-name", env={**KEYS, "AWS_PROFILE": "my team"},
         config=f'[profile "my team"]\nendpoint_url = {LOCAL}\n'),
    Case("settings-in-credentials-file", env={**KEYS, "AWS_PROFILE": "c"},
         credentials=f"[c]\nendpoint_url = {LOCAL}\nregion = sa-east-1\n"),
    Case("credentials-file-overrides-config", env={**KEYS, "AWS_PROFILE": "c"},
         config="[profile c]\nendpoint_url = http://config:1\nregion = eu-west-3\n",
         credentials=f"[c]\nendpoint_url = {LOCAL}\n"),
    Case("section-without-profile-prefix-is-no-profile", env={**KEYS, "AWS_PROFILE": "x"},
         config=f"[x]\nendpoint_url = {LOCAL}\n[profile y]\n"),
    Case("three-word-profile-section-ignored", env={**KEYS, "AWS_PROFILE": "a"},
         config=f"[profile a b]\nendpoint_url = {LOCAL}\n[profile a]\n"),
    Case("default-and-profile-default-last-wins", env=KEYS,
         config=f"[default]\nendpoint_url = http://first:1\n"
                f"[profile default]\nendpoint_url = {LOCAL}\n"),
    Case("credentials-file-profile-prefix-is-literal", env={**KEYS, "AWS_PROFILE": "q"},
         credentials=f"[profile q]\nendpoint_url = {LOCAL}\n"),
    Case("missing-profile", env={**KEYS, "AWS_PROFILE": "nope"}, config="[default]\n"),
    Case("missing-explicit-default-profile", env=KEYS, profile="default"),
    Case("empty-aws-profile", env={**KEYS, "AWS_PROFILE": ""}, config="[default]\n"),
    Case("bad-config-file", env=KEYS, config="region = us-east-1\n"),
    # -- region ----------------------------------------------------------------------------
    Case("aws-region-read-as-the-cli-does", env={**KEYS, "AWS_REGION": "eu-west-1"},
         cli_region="eu-west-1"),
    Case("aws-region-beats-config-region", env={**KEYS, "AWS_REGION": "eu-west-1"},
         config="[default]\nregion = eu-west-2\n", cli_region="eu-west-1"),
    Case("aws-region-beats-default-region",
         env={**KEYS, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "ca-central-1"},
         cli_region="eu-west-1"),
    Case("region-argument-beats-aws-region", env={**KEYS, "AWS_REGION": "eu-west-1"},
         region="ap-south-1"),
    Case("default-region-beats-config", env={**KEYS, "AWS_DEFAULT_REGION": "ca-central-1"},
         config="[default]\nregion = eu-west-2\n"),
    Case("explicit-region", region="ap-northeast-1",
         env={**KEYS, "AWS_DEFAULT_REGION": "ca-central-1"}),
    Case("region-with-endpoint", env={**KEYS, "AWS_DEFAULT_REGION": "garage"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("china", env={**KEYS, "AWS_DEFAULT_REGION": "cn-north-1"}),
    Case("govcloud", env={**KEYS, "AWS_DEFAULT_REGION": "us-gov-west-1"}),
    Case("iso-partition", env={**KEYS, "AWS_DEFAULT_REGION": "us-iso-east-1"}, lean=False),
    Case("unknown-aws-region", env={**KEYS, "AWS_DEFAULT_REGION": "moon-base-1"}, lean=False),
    Case("us-east-1-regional-env",
         env={**KEYS, "AWS_DEFAULT_REGION": "us-east-1",
              "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT": "regional"}),
    Case("us-east-1-regional-config", env={**KEYS, "AWS_DEFAULT_REGION": "us-east-1"},
         config="[default]\ns3 =\n  us_east_1_regional_endpoint = regional\n"),
    Case("empty-region", env={**KEYS, "AWS_DEFAULT_REGION": ""}),
    Case("invalid-region", env={**KEYS, "AWS_DEFAULT_REGION": "eu_west"}),
    # -- endpoint variants -----------------------------------------------------------------
    Case("fips", env={**KEYS, "AWS_USE_FIPS_ENDPOINT": "true"}, lean=False),
    Case("fips-with-endpoint", env={**KEYS, "AWS_USE_FIPS_ENDPOINT": "true"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("dualstack-s3-section", env=KEYS,
         config="[default]\ns3 =\n  use_dualstack_endpoint = true\n", lean=False),
    Case("accelerate", env=KEYS,
         config="[default]\ns3 =\n  use_accelerate_endpoint = true\n", lean=False),
    # -- addressing style ------------------------------------------------------------------
    Case("addressing-config-path", env=KEYS,
         config="[default]\ns3 =\n  addressing_style = path\n"),
    Case("addressing-config-virtual-with-endpoint", env=KEYS,
         config=f"[default]\nendpoint_url = {LOCAL}\ns3 =\n  addressing_style = virtual\n"),
    Case("addressing-explicit-beats-config", env=KEYS, addressing_style="virtual",
         config="[default]\ns3 =\n  addressing_style = path\n"),
    Case("addressing-top-level-is-not-read", env=KEYS,
         config="[default]\naddressing_style = path\n"),
    Case("addressing-invalid", env=KEYS, config="[default]\ns3 =\n  addressing_style = up\n",
         stricter=True),
    # -- proxies ---------------------------------------------------------------------------
    Case("proxy-https", env={**KEYS, "HTTPS_PROXY": PROXY},
         config="[default]\nendpoint_url = https://127.0.0.1:9443\n"),
    Case("proxy-https-not-for-http", env={**KEYS, "HTTPS_PROXY": PROXY},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("proxy-http", env={**KEYS, "HTTP_PROXY": PROXY},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("proxy-lowercase", env={**KEYS, "http_proxy": PROXY},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("proxy-without-scheme", env={**KEYS, "HTTP_PROXY": "127.0.0.1:3128"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("no-proxy-host-port", env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "127.0.0.1:9000"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("no-proxy-other-port",
         env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "127.0.0.1:9001"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("no-proxy-host", env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "x, 127.0.0.1"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("no-proxy-domain", env={**KEYS, "HTTPS_PROXY": PROXY, "NO_PROXY": ".example.com"},
         config="[default]\nendpoint_url = https://s3.example.com\n"),
    Case("no-proxy-bare-domain", env={**KEYS, "HTTPS_PROXY": PROXY, "no_proxy": "example.com"},
         config="[default]\nendpoint_url = https://s3.example.com\n"),
    Case("no-proxy-suffix-is-not-domain",
         env={**KEYS, "HTTPS_PROXY": PROXY, "NO_PROXY": "ample.com"},
         config="[default]\nendpoint_url = https://s3.example.com\n"),
    Case("no-proxy-star", env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "*"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    Case("no-proxy-aws", env={**KEYS, "HTTPS_PROXY": PROXY, "NO_PROXY": ".amazonaws.com"}),
    Case("proxy-aws", env={**KEYS, "HTTPS_PROXY": PROXY, "AWS_DEFAULT_REGION": "eu-north-1"}),
    Case("no-proxy-cidr", env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "127.0.0.0/8"},
         config=f"[default]\nendpoint_url = {LOCAL}\n", cidr=True),
    Case("no-proxy-cidr-outside",
         env={**KEYS, "HTTP_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"},
         config=f"[default]\nendpoint_url = {LOCAL}\n"),
    # -- CA bundle -------------------------------------------------------------------------
    Case("ca-env", env={**KEYS, "AWS_CA_BUNDLE": "@DIR@/env-ca.pem",
                        "REQUESTS_CA_BUNDLE": "@DIR@/requests-ca.pem"},
         config="[default]\nca_bundle = @DIR@/config-ca.pem\n"),
    Case("ca-config", env={**KEYS, "REQUESTS_CA_BUNDLE": "@DIR@/requests-ca.pem"},
         config="[default]\nca_bundle = @DIR@/config-ca.pem\n"),
    Case("ca-requests", env={**KEYS, "REQUESTS_CA_BUNDLE": "@DIR@/requests-ca.pem"}),
    Case("ca-empty", env={**KEYS, "AWS_CA_BUNDLE": ""}),
    Case("ca-missing", env={**KEYS, "AWS_CA_BUNDLE": "@DIR@/nowhere.pem"}, stricter=True),
    # -- max attempts ----------------------------------------------------------------------
    Case("attempts-env", env={**KEYS, "AWS_MAX_ATTEMPTS": "3"},
         config="[default]\nmax_attempts = 9\n"),
    Case("attempts-config", env=KEYS, config="[default]\nmax_attempts = 9\n"),
    Case("attempts-profile", env={**KEYS, "AWS_PROFILE": "p"},
         config="[default]\nmax_attempts = 9\n[profile p]\nmax_attempts = 2\n"),
    Case("attempts-invalid", env={**KEYS, "AWS_MAX_ATTEMPTS": "many"}),
    Case("attempts-zero", env={**KEYS, "AWS_MAX_ATTEMPTS": "0"}, stricter=True),
    # -- credentials -----------------------------------------------------------------------
    Case("keys-env-token", env={**KEYS, "AWS_SESSION_TOKEN": "tok"}, static=True),
    Case("keys-env-security-token-first",
         env={**KEYS, "AWS_SESSION_TOKEN": "tok", "AWS_SECURITY_TOKEN": "old"}, static=True),
    Case("keys-env-beat-aws-profile", env={**KEYS, "AWS_PROFILE": "p"},
         credentials="[p]\naws_access_key_id = P\naws_secret_access_key = SP\n", static=True),
    Case("keys-explicit-profile-beats-env", env=KEYS, profile="p",
         credentials="[p]\naws_access_key_id = P\naws_secret_access_key = SP\n", static=True),
    Case("keys-credentials-file",
         credentials="[default]\naws_access_key_id = C\naws_secret_access_key = SC\n"
                     "aws_session_token = TC\n", static=True),
    Case("keys-config-file",
         config="[default]\naws_access_key_id = F\naws_secret_access_key = SF\n", static=True),
    Case("keys-credentials-beat-config",
         config="[default]\naws_access_key_id = F\naws_secret_access_key = SF\n",
         credentials="[default]\naws_access_key_id = C\naws_secret_access_key = SC\n",
         static=True),
    Case("keys-credentials-beat-process",
         config=f"[default]\n{PROCESS}\n",
         credentials="[default]\naws_access_key_id = C\naws_secret_access_key = SC\n"),
    Case("keys-process", config=f"[default]\n{PROCESS}\n", static=False),
    Case("keys-process-beats-config",
         config=f"[default]\n{PROCESS}\naws_access_key_id = F\naws_secret_access_key = SF\n",
         static=False),
    Case("keys-half-set", env={"AWS_ACCESS_KEY_ID": "A"}),
    Case("keys-expiring-env", env={**KEYS, "AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00Z"},
         static=False),
]


_LOADER: list[Any] = []


def _botocore(case: Case) -> tuple[Any, Any] | BaseException:
    """botocore's client and session for ``case``, or the error it raises."""
    session = botocore.session.Session(profile=case.profile)
    if _LOADER:  # the S3 model, parsed once for all the cases
        session.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(session.get_component("data_loader"))
    config = Config(s3={"addressing_style": case.addressing_style}) \
        if case.addressing_style else None
    try:
        client = session.create_client("s3", region_name=case.region or case.cli_region,
                                       endpoint_url=case.endpoint_url, config=config)
    except Exception as exc:
        return exc
    return client, session


def _expected_proxy(client: Any) -> str | None:
    proxy: str | None = client._endpoint.http_session._proxy_config.proxy_url_for(
        client.meta.endpoint_url)
    return proxy


def _check(case: Case, ours: Resolved, client: Any, session: Any) -> None:
    meta = client.meta
    botocore_aws = meta.endpoint_url.rstrip("/").endswith((".amazonaws.com", ".amazonaws.com.cn",
                                                          ".c2s.ic.gov"))
    legacy = case.env.get("S3_ENDPOINT")
    ignored = str(case.env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")).lower() == "true"
    if legacy and botocore_aws and not case.endpoint_url and not ignored:
        assert ours.endpoint_url == legacy  # ours alone, and only below every AWS source
        assert ours.configured_endpoint
        return
    assert (ours.lean_unsupported is None) == case.lean, ours.lean_unsupported
    if case.lean:
        assert ours.endpoint_url == meta.endpoint_url
    else:
        assert ours.endpoint_url is None and botocore_aws
    assert ours.configured_endpoint == (not botocore_aws)
    assert ours.region == meta.region_name
    assert ours.addressing_style == (meta.config.s3 or {}).get("addressing_style", "auto")
    assert ours.max_attempts == (meta.config.retries or {}).get("total_max_attempts")
    verify = client._endpoint.http_session._verify
    assert ours.verify == verify
    if case.lean:
        expected_proxy = _expected_proxy(client)
        if case.cidr:
            import requests.utils

            assert expected_proxy is not None  # botocore ignores CIDR blocks...
            assert requests.utils.should_bypass_proxies(meta.endpoint_url, None)  # requests not
            assert ours.proxy is None
        else:
            assert ours.proxy == expected_proxy
    if case.static is True:
        assert ours.credentials is not None
    elif case.static is False:
        assert ours.credentials is None
    if ours.credentials is not None:
        frozen = session.get_credentials().get_frozen_credentials()
        assert (ours.credentials.access_key, ours.credentials.secret_key,
                ours.credentials.token or None) == (frozen.access_key, frozen.secret_key,
                                                     frozen.token or None)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_resolution_matches_botocore(case: Case, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    clean_aws_environment(monkeypatch)
    script = tmp_path / "process.py"
    script.write_text(_SCRIPT)
    for name in ("env-ca.pem", "config-ca.pem", "requests-ca.pem"):
        (tmp_path / name).write_text("")

    def fill(text: str) -> str:
        return text.replace("@PROCESS@", f"{sys.executable} {script}").replace(
            "@DIR@", str(tmp_path))

    files = aws_files(tmp_path, fill(case.config), fill(case.credentials))
    for name, value in {**files, **{k: fill(v) for k, v in case.env.items()}}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # credential_process runs here
    try:
        ours: Resolved | S3PumpError = resolve(ClientConfig(
            endpoint_url=case.endpoint_url, region=case.region, profile=case.profile,
            addressing_style=case.addressing_style))
    except S3PumpError as exc:
        ours = exc
    theirs = _botocore(case)
    if isinstance(theirs, BaseException):
        assert isinstance(ours, S3PumpError), f"botocore refused ({theirs!r}), s3pump did not"
        assert "\n" not in str(ours)
        return
    if case.stricter:
        assert isinstance(ours, S3PumpError), "s3pump should refuse what botocore accepts"
        return
    assert not isinstance(ours, S3PumpError), f"s3pump refused: {ours}"
    _check(case, ours, *theirs)
