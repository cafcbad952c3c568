"""Where requests go, and as whom: one resolution, used by both transports, that gives the
answers botocore gives (checked case by case against botocore in
tests/transport/test_endpoints_resolve.py).

Read from the environment and the shared files (:mod:`._awsfiles`), never by importing
botocore:

- profile: the ``profile`` argument, else ``AWS_DEFAULT_PROFILE``, else ``AWS_PROFILE``; a
  named profile must exist in one of the files.
- endpoint: the ``endpoint_url`` argument > ``AWS_ENDPOINT_URL_S3`` > ``AWS_ENDPOINT_URL`` >
  the profile's ``services`` section's ``s3 = endpoint_url`` > the profile's ``endpoint_url``
  > ``S3_ENDPOINT`` (s3pump's own, lowest); ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` (or the
  profile's ``ignore_configured_endpoint_urls``) set to ``true`` drops all of them except the
  argument. Without one, AWS's own endpoint for the region.
- region: the argument > ``AWS_DEFAULT_REGION`` > the profile's ``region`` > ``us-east-1``.
  ``AWS_REGION`` is not read: botocore does not read it.
- addressing style: the argument > the profile's ``s3 = addressing_style`` > ``auto``.
- proxy: ``HTTP(S)_PROXY`` for the endpoint's scheme unless ``NO_PROXY`` names the endpoint
  (``host``, ``host:port``, ``.domain``, ``*``: urllib's rules, as botocore), and also, as
  ``requests`` does, when the endpoint is an IP address inside a ``NO_PROXY`` CIDR block.
- CA bundle: ``AWS_CA_BUNDLE`` > the profile's ``ca_bundle`` > ``REQUESTS_CA_BUNDLE``.
- max attempts: ``AWS_MAX_ATTEMPTS`` > the profile's ``max_attempts``.
- credentials, when the environment or the files decide them (static keys): the environment's
  keys (unless a profile is passed as an argument), else the profile's keys in the credentials
  file, else in the config file. Anything else (assume-role, web identity, SSO, login,
  ``credential_process``, containers, instance metadata) is left to botocore's chain.

Where botocore would use an endpoint variant (FIPS, dual-stack, accelerate, a non-standard
partition or region, ``defaults_mode``), ``lean_unsupported`` says why, ``endpoint_url`` is
``None`` and botocore picks the endpoint.

Deliberately stricter than botocore (a loud error instead of a request to the wrong place):
an empty endpoint argument or profile name, an endpoint that is not ``http(s)://host``, an
empty region or CA bundle path, an unknown addressing style, a non-positive or non-numeric
``max_attempts``, and a config file that exists but cannot be read are :class:`ConfigError`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .._config import ClientConfig
from .._errors import AccessDeniedError, ConfigError
from ._awsfiles import Section, SharedFiles, load_shared_files

__all__ = ["Credentials", "Resolved", "access_modes", "proxy_for", "resolve",
           "resolve_max_attempts"]

# botocore.utils.validate_region_name
_REGION = re.compile(r"^(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)$")
# Partitions whose S3 endpoint is s3.REGION.SUFFIX (botocore's endpoints.json regionRegex).
_PARTITIONS = (
    (re.compile(r"(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+"), "amazonaws.com"),
    (re.compile(r"cn-\w+-\d+"), "amazonaws.com.cn"),
    (re.compile(r"us-gov-\w+-\d+"), "amazonaws.com"),
)
_ADDRESSING = ("auto", "path", "virtual")
# Profile settings that make botocore's chain find credentials other than static keys.
_CHAIN_ONLY = ("role_arn", "credential_source", "source_profile", "web_identity_token_file",
               "sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region",
               "login_session", "credential_process")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A frozen set of AWS credentials; ``token`` is the session token, if any. (Defined
    here, with the resolution that finds static keys, so that the lean transport's modules
    import it from below.)"""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key='***', token=...)"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The resolved connection settings.

    ``endpoint_url`` is the base URL requests go to (``None`` only with ``lean_unsupported``:
    botocore then chooses AWS's endpoint variant); ``endpoint_source`` names where it came
    from. ``configured_endpoint`` is True when the user configured it (not AWS's default).
    ``proxy`` is the proxy URL for the endpoint, ``None`` for a direct connection. ``verify``
    is a CA bundle path, or True for the default trust store. ``credentials`` are the static
    keys the environment or the files decide, ``None`` when botocore's chain must find them.
    """

    profile: str | None
    region: str
    endpoint_url: str | None
    endpoint_source: str
    configured_endpoint: bool
    addressing_style: str
    proxy: str | None
    verify: str | bool
    max_attempts: int | None
    credentials: Credentials | None
    lean_unsupported: str | None

    def describe(self) -> str:
        """One line for ``-v``: where requests go and why (no credentials, no proxy password).
        """
        endpoint = self.endpoint_url or "AWS (chosen by botocore)"
        proxy = "direct"
        if self.proxy:
            parts = urlsplit(self.proxy)
            proxy = f"proxy {parts.scheme}://{parts.hostname}" + (
                f":{parts.port}" if parts.port else "")
        profile = f"profile {self.profile!r}" if self.profile else "default profile"
        return (f"endpoint {endpoint} (from {self.endpoint_source}), region {self.region}, "
                f"{self.addressing_style} addressing, {proxy}, {profile}")


def access_modes(config: ClientConfig) -> str:
    """The access modes for the ``-v`` line (``", unsigned"``), or ``""``."""
    return "".join((", unsigned" if not config.sign_requests else "",
                    ", requester pays" if config.request_payer else ""))


def _truthy(value: object) -> bool:
    """botocore's ensure_boolean: True, or a string equal to 'true' in any case."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _profile_name(config: ClientConfig, environ: Mapping[str, str]) -> str | None:
    if config.profile is not None:
        if not config.profile:
            raise ConfigError("the profile name is empty")
        return config.profile
    for name in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        if name in environ:  # present but empty still counts, as in botocore
            return environ[name]
    return None


def _scoped(files: SharedFiles, profile: str | None) -> Section:
    if profile is None:
        return files.profiles.get("default", {})
    if profile not in files.profiles:
        raise ConfigError(f"the config profile {profile!r} could not be found "
                          f"(in {files.config_path} or {files.credentials_path})")
    return files.profiles[profile]


def _setting(environ: Mapping[str, str], variable: str | None, scoped: Section,
             key: str | None) -> str | dict[str, str] | None:
    """The environment variable if present (even empty), else the profile's setting."""
    if variable is not None and variable in environ:
        return environ[variable]
    return scoped.get(key) if key is not None else None


def _s3_section(scoped: Section) -> dict[str, str]:
    section = scoped.get("s3")
    return section if isinstance(section, dict) else {}


def _check_url(url: str, source: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: endpoint URL must be http:// or https:// and a host, "
                          f"not {url!r}")
    return url


def _configured_endpoint(config: ClientConfig, environ: Mapping[str, str], scoped: Section,
                         files: SharedFiles, profile: str | None) -> tuple[str | None, str]:
    """The configured endpoint and where it came from, or ``(None, "")``."""
    if config.endpoint_url is not None:
        if not config.endpoint_url:
            raise ConfigError("the endpoint URL argument is empty")
        return config.endpoint_url, "the endpoint_url argument"
    ignore = _setting(environ, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", scoped,
                      "ignore_configured_endpoint_urls")
    if _truthy(ignore):
        return None, ""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if environ.get(name):
            return environ[name], name
    where = f"profile {profile or 'default'!r}"
    if "services" in scoped:
        section_name = scoped["services"]
        services = files.services.get(section_name) if isinstance(section_name, str) else None
        if not services:
            raise ConfigError(f"{where} names the services section {section_name!r}, "
                              "which does not exist")
        s3 = services.get("s3")
        service_url = s3.get("endpoint_url") if isinstance(s3, dict) else None
        if service_url:
            return service_url, f"[services {section_name}] s3 endpoint_url"
    profile_url = scoped.get("endpoint_url")
    if isinstance(profile_url, str) and profile_url:
        return profile_url, f"{where} endpoint_url"
    if environ.get("S3_ENDPOINT"):
        return environ["S3_ENDPOINT"], "S3_ENDPOINT"
    return None, ""


def _region(config: ClientConfig, environ: Mapping[str, str], scoped: Section) -> str:
    region: str | None
    if config.region is not None:
        region, source = config.region, "the region argument"
    elif "AWS_REGION" in environ:
        # The AWS CLI v2 and every other SDK read AWS_REGION first (Lambda, ECS and most CI
        # set only it); botocore alone does not. Configuration is the AWS CLI's (DESIGN §2).
        region, source = environ["AWS_REGION"], "AWS_REGION"
    elif "AWS_DEFAULT_REGION" in environ:
        region, source = environ["AWS_DEFAULT_REGION"], "AWS_DEFAULT_REGION"
    else:
        value = scoped.get("region")
        region, source = (value if isinstance(value, str) else None), "the profile's region"
    if region is None:
        return "us-east-1"
    if not region or not _REGION.match(region):
        raise ConfigError(f"{source}: not a valid region name: {region!r}")
    return region


def _aws_endpoint(region: str, environ: Mapping[str, str], scoped: Section) -> str | None:
    """AWS's S3 endpoint for ``region``, as botocore's legacy resolver gives it (None where
    only botocore knows it)."""
    s3 = _s3_section(scoped)
    regional = _setting(environ, "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", scoped,
                        "s3_us_east_1_regional_endpoint")
    if regional is None:
        regional = s3.get("us_east_1_regional_endpoint") or "legacy"
    if regional not in ("legacy", "regional"):
        raise ConfigError(f"us_east_1_regional_endpoint must be legacy or regional, "
                          f"not {regional!r}")
    if region == "us-east-1" and regional == "legacy":
        return "https://s3.amazonaws.com"
    for pattern, suffix in _PARTITIONS:
        if pattern.fullmatch(region):
            return f"https://s3.{region}.{suffix}"
    return None


def _variant(environ: Mapping[str, str], scoped: Section, configured: bool) -> str | None:
    """Why botocore would pick an endpoint the lean path does not know, if it would. With a
    configured endpoint botocore ignores FIPS and dual-stack (and the defaults mode only
    changes AWS's us-east-1 endpoint), but not accelerate."""
    s3 = _s3_section(scoped)
    if _truthy(s3.get("use_accelerate_endpoint")):
        return "accelerate endpoints need the reference transport"
    if configured:
        return None
    for name, variable, key in (
        ("FIPS", "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
        ("dual-stack", "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
    ):
        if _truthy(_setting(environ, variable, scoped, key)) or _truthy(s3.get(key)):
            return f"{name} endpoints need the reference transport"
    mode = _setting(environ, "AWS_DEFAULTS_MODE", scoped, "defaults_mode")
    if mode is not None and mode != "legacy":
        return f"defaults_mode {mode!r} needs the reference transport"
    return None


def _addressing(config: ClientConfig, scoped: Section) -> str:
    if config.addressing_style is not None:
        return config.addressing_style
    style = _s3_section(scoped).get("addressing_style", "auto")
    if style not in _ADDRESSING:
        raise ConfigError(f"the profile's s3 addressing_style must be one of "
                          f"{', '.join(_ADDRESSING)}, not {style!r}")
    return style


def _verify(environ: Mapping[str, str], scoped: Section) -> str | bool:
    value = _setting(environ, "AWS_CA_BUNDLE", scoped, "ca_bundle")
    if value is None:
        value = environ.get("REQUESTS_CA_BUNDLE")
    if value is None:
        return True
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("the CA bundle (AWS_CA_BUNDLE, ca_bundle or REQUESTS_CA_BUNDLE) is "
                          "set to an empty path")
    if not os.path.isfile(value):  # botocore would fail on the first HTTPS request
        raise ConfigError(f"the CA bundle {value!r} is not a file")
    return value


def _max_attempts(environ: Mapping[str, str], scoped: Section) -> int | None:
    value = _setting(environ, "AWS_MAX_ATTEMPTS", scoped, "max_attempts")
    if value is None:
        return None
    source = "AWS_MAX_ATTEMPTS" if "AWS_MAX_ATTEMPTS" in environ else "max_attempts"
    try:
        attempts = int(value) if isinstance(value, str) else 0
    except ValueError:
        attempts = 0
    if attempts < 1:
        raise ConfigError(f"{source} must be a positive integer, not {value!r}")
    return attempts


def _keys(section: Section, where: str) -> Credentials:
    access, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    if not isinstance(access, str) or not isinstance(secret, str) or not secret:
        raise AccessDeniedError(f"{where} has aws_access_key_id without aws_secret_access_key")
    token = section.get("aws_security_token", section.get("aws_session_token"))
    return Credentials(access, secret, token if isinstance(token, str) and token else None)


def _static_credentials(config: ClientConfig, environ: Mapping[str, str], files: SharedFiles,
                        profile: str | None, scoped: Section) -> Credentials | None:
    """The credentials botocore's chain would find, when they are static keys the environment
    or the files hold; None when the chain must look further (or refresh them)."""
    if config.profile is None and environ.get("AWS_ACCESS_KEY_ID"):
        secret = environ.get("AWS_SECRET_ACCESS_KEY")
        if not secret:
            raise AccessDeniedError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        if environ.get("AWS_CREDENTIAL_EXPIRATION"):
            return None  # refreshable: botocore re-reads them
        token = environ.get("AWS_SECURITY_TOKEN") or environ.get("AWS_SESSION_TOKEN") or None
        return Credentials(environ["AWS_ACCESS_KEY_ID"], secret, token)
    if any(key in scoped for key in _CHAIN_ONLY):
        return None
    if config.profile is None and environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return None
    name = profile or "default"
    in_credentials = files.credentials.get(name, {})
    if "aws_access_key_id" in in_credentials:
        return _keys(in_credentials, f"profile {name!r} in {files.credentials_path}")
    in_config = files.config_profiles.get(name, {})
    if "aws_access_key_id" in in_config:
        return _keys(in_config, f"profile {name!r} in {files.config_path}")
    return None


def _no_proxy_cidr(host: str, no_proxy: str) -> bool:
    """Whether ``host``, an IP address, falls in a CIDR block of ``no_proxy`` (as requests)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in no_proxy.replace(" ", "").split(","):
        if "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for requests to ``url`` (None: connect directly).

    botocore's rule (``get_environ_proxies`` on the endpoint, then the proxy for its scheme,
    ``http://`` added when the proxy URL has no scheme), plus ``NO_PROXY`` CIDR blocks.
    """
    if sys.platform not in ("darwin", "win32") and not any(
        name[-6:].lower() == "_proxy" for name in os.environ
    ):
        return None  # what getproxies() would find, without importing urllib.request (13 ms)
    import urllib.request

    parts = urlsplit(url)
    try:
        if urllib.request.proxy_bypass(parts.netloc):
            return None
    except (TypeError, OSError):
        pass
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme)
    if not proxy:
        return None
    no_proxy = proxies.get("no", "")
    if "/" in no_proxy and parts.hostname and _no_proxy_cidr(parts.hostname, no_proxy):
        return None
    if proxy.startswith(("http:", "https:")):
        return proxy
    return "http:" + proxy if proxy.startswith("//") else "http://" + proxy


def resolve_max_attempts(profile: str | None = None) -> int | None:
    """``AWS_MAX_ATTEMPTS``, else the profile's ``max_attempts`` (None: neither is set)."""
    environ = os.environ
    if "AWS_MAX_ATTEMPTS" in environ:
        return _max_attempts(environ, {})
    files = load_shared_files(environ)
    scoped = _scoped(files, _profile_name(ClientConfig(profile=profile), environ))
    return _max_attempts(environ, scoped)


def resolve_checksum_calculation(profile: str | None = None) -> str:
    """``AWS_REQUEST_CHECKSUM_CALCULATION``, else the profile's
    ``request_checksum_calculation``, lower-cased (``when_supported`` when neither is set)."""
    environ = os.environ
    files = load_shared_files(environ)
    scoped = _scoped(files, _profile_name(ClientConfig(profile=profile), environ))
    value = _setting(environ, "AWS_REQUEST_CHECKSUM_CALCULATION", scoped,
                     "request_checksum_calculation")
    text = value.strip().lower() if isinstance(value, str) else ""
    return text or "when_supported"


def resolve(config: ClientConfig) -> Resolved:
    """Resolve ``config`` against the environment and the shared files (see the module doc).

    Raises :class:`ConfigError` for a configuration botocore would reject or that could send
    requests somewhere unintended, and :class:`AccessDeniedError` for half-set keys.
    """
    environ = os.environ
    files = load_shared_files(environ)
    profile = _profile_name(config, environ)
    scoped = _scoped(files, profile)
    region = _region(config, environ, scoped)
    configured, source = _configured_endpoint(config, environ, scoped, files, profile)
    unsupported = _variant(environ, scoped, configured is not None)
    if configured is not None:
        endpoint: str | None = _check_url(configured, source)
    else:
        source = "AWS"
        endpoint = None if unsupported else _aws_endpoint(region, environ, scoped)
        if endpoint is None and unsupported is None:
            unsupported = f"region {region!r} has an endpoint only botocore knows"
    if unsupported is None and not re.fullmatch(r"[a-z0-9-]+", region):
        unsupported = f"unusual region {region!r}"
    return Resolved(
        profile=profile,
        region=region,
        endpoint_url=endpoint,
        endpoint_source=source,
        configured_endpoint=configured is not None,
        addressing_style=_addressing(config, scoped),
        proxy=proxy_for(endpoint) if endpoint else None,
        verify=_verify(environ, scoped),
        max_attempts=_max_attempts(environ, scoped),
        # Unsigned requests look up no credentials (half-set keys are then no error).
        credentials=(_static_credentials(config, environ, files, profile, scoped)
                     if config.sign_requests else None),
        lean_unsupported=unsupported,
    )
