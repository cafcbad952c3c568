"""The AWS shared config and credentials files, read the way botocore's ``configloader`` reads
them, without importing botocore.

- ``AWS_CONFIG_FILE`` (default ``~/.aws/config``) and ``AWS_SHARED_CREDENTIALS_FILE`` (default
  ``~/.aws/credentials``); ``$VARS`` and ``~`` are expanded; a missing file is an empty one.
- ``[default]`` and ``[profile NAME]`` are profiles (the name is split with shlex, so quoted
  names work); ``[services NAME]`` and ``[sso-session NAME]`` are their own kinds; every
  section of the credentials file is a profile of that name.
- A value that starts on the next line (``s3 =`` followed by indented ``key = value`` lines)
  is a nested section.
- A profile's settings are its config file section updated with its credentials file section
  (botocore's ``Session.full_config``).

Parsed files are cached by path, size and modification time: resolving a configuration twice
(both transports, or the retry settings) reads each file once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._errors import ConfigError

__all__ = ["Section", "SharedFiles", "load_shared_files"]

Section = dict[str, "str | dict[str, str]"]
_Raw = dict[str, Section]

_cache: dict[str, tuple[tuple[int, ...], _Raw]] = {}


@dataclass(frozen=True, slots=True)
class SharedFiles:
    """The parsed shared files. ``profiles`` is the merged view (config then credentials);
    ``config_profiles`` and ``credentials`` are each file alone, as the credential providers
    that read one file each see them."""

    config_path: str
    credentials_path: str
    profiles: dict[str, Section]
    services: dict[str, Section]
    config_profiles: dict[str, Section]
    credentials: dict[str, Section]


def _parse_nested(value: str, path: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for line in value.splitlines():
        line = line.strip()
        if not line:
            continue
        key, sep, rest = line.partition("=")
        if not sep:
            raise ConfigError(f"cannot parse {path}: a nested setting without '='")
        parsed[key.strip()] = rest.strip()
    return parsed


def _parse_error(exc: Exception) -> str:
    """What is wrong and on which line, never the line itself (it may hold a secret)."""
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"a setting before the first [section] (line {exc.lineno})"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(number) for number, _ in exc.errors)
        return f"lines that are not 'key = value' (line {lines})"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{exc.option!r} set twice in [{exc.section}] (line {exc.lineno})"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"[{exc.section}] appears twice (line {exc.lineno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid text at byte {exc.start}"
    return type(exc).__name__


def _raw_parse(path: str) -> _Raw:
    """Every section of the INI file at ``path`` (already expanded); ``{}`` when it is not a
    regular file."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return {}
    if not os.path.isfile(path):
        return {}
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import configparser  # 4 ms: only when there is a file to read

    parser = configparser.RawConfigParser()
    try:
        read = parser.read([path])
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot parse {path}: {_parse_error(exc)}") from None
    if not read:
        # configparser skips a file it cannot open, and botocore with it; a configuration
        # that exists but cannot be read is not an empty one.
        raise ConfigError(f"cannot read {path}")
    raw: _Raw = {}
    for section in parser.sections():
        values: Section = {}
        for option in parser.options(section):
            value = parser.get(section, option)
            values[option] = _parse_nested(value, path) if value.startswith("\n") else value
        raw[section] = values
    _cache[path] = (stamp, raw)
    return raw


def _section_name(key: str) -> str | None:
    """``NAME`` of ``profile NAME`` (shlex rules, as botocore), or None when malformed."""
    import shlex

    try:
        parts = shlex.split(key)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def _profile_map(raw: _Raw) -> tuple[dict[str, Section], dict[str, Section]]:
    """Profiles and services sections of a parsed config file (botocore's build_profile_map)."""
    profiles: dict[str, Section] = {}
    services: dict[str, Section] = {}
    for key, values in raw.items():
        if key.startswith("profile"):
            name = _section_name(key)
            if name is not None:
                profiles[name] = values
        elif key.startswith("sso-session"):
            continue
        elif key.startswith("services"):
            name = _section_name(key)
            if name is not None:
                services[name] = values
        elif key == "default":
            profiles[key] = values
    return profiles, services


def _path(environ: Mapping[str, str], variable: str, default: str) -> str:
    value = environ.get(variable, default)  # present but empty counts, as in botocore
    return os.path.expanduser(os.path.expandvars(value))


def load_shared_files(environ: Mapping[str, str]) -> SharedFiles:
    """The shared config and credentials files named by ``environ``.

    Raises :class:`ConfigError` (one line) when a file cannot be parsed.
    """
    config_path = _path(environ, "AWS_CONFIG_FILE", "~/.aws/config")
    credentials_path = _path(environ, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config_profiles, services = _profile_map(_raw_parse(config_path))
    credentials = _raw_parse(credentials_path)
    profiles = dict(config_profiles)
    for name, values in credentials.items():
        profiles[name] = {**profiles[name], **values} if name in profiles else values
    return SharedFiles(config_path, credentials_path, profiles, services, config_profiles,
                       credentials)
