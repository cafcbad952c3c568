"""Unit tests for s3pump._uri: URI parsing and the key -> local path safety policy."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from s3pump._errors import BadURIError, S3PumpError, UnsafeKeyError
from s3pump._uri import S3URI, key_to_relpath, local_target, parse_uri

# --- parse_uri ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [
        # The classic bug: "s3://s3data/x".lstrip("s3://") == "data/x".
        ("s3://s3data/x", "s3data", "x"),
        ("s3://s3s3/x", "s3s3", "x"),
        ("s3://sss/s3://", "sss", "s3://"),
        ("s3://bucket", "bucket", ""),
        ("s3://bucket/", "bucket", ""),
        ("s3://bucket/a/b", "bucket", "a/b"),
        ("s3://bucket/a/b/", "bucket", "a/b/"),
        ("S3://bucket/k", "bucket", "k"),
        ("s3://bucket/k", "bucket", "k"),
        ("s3://bucket/what?x=1#frag", "bucket", "what?x=1#frag"),
        ("s3://bucket/a%20b+c&d=e", "bucket", "a%20b+c&d=e"),
        ("s3://bucket/with space/ünï", "bucket", "with space/ünï"),
        ("s3://bucket//double", "bucket", "/double"),
        ("s3://bucket/a//b", "bucket", "a//b"),
        ("s3://bucket/../x", "bucket", "../x"),  # keys are kept; the path policy refuses them
        ("s3://Legacy_Bucket.1/k", "Legacy_Bucket.1", "k"),
    ],
)
def test_parse_uri_valid(uri: str, bucket: str, key: str) -> None:
    parsed = parse_uri(uri)
    assert parsed == S3URI(bucket, key)
    assert S3URI.parse(uri) == parsed


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://x", "not an s3:// URI"),
        ("https://bucket/key", "not an s3:// URI"),
        ("bucket/key", "not an s3:// URI"),
        ("s3:/bucket/key", "not an s3:// URI"),
        ("", "not an s3:// URI"),
        ("s3://", "missing bucket name"),
        ("s3:///key", "missing bucket name"),
        ("s3://ab/x", "invalid bucket name 'ab'"),
        ("s3://-bucket/x", "invalid bucket name '-bucket'"),
        ("s3://buck..et/x", "invalid bucket name 'buck..et'"),
        ("s3://buck et/x", "invalid bucket name 'buck et'"),
        ("s3://bucket/a\x00b", "NUL character"),
    ],
)
def test_parse_uri_invalid(uri: str, message: str) -> None:
    with pytest.raises(BadURIError, match=message):
        parse_uri(uri)


@pytest.mark.parametrize(("value", "type_name"), [(None, "NoneType"), (42, "int"),
                                                  (b"s3://bucket/k", "bytes"),
                                                  (Path("s3:/bucket/k"), "PosixPath")])
def test_parse_uri_rejects_non_strings(value: object, type_name: str) -> None:
    with pytest.raises(BadURIError, match=f"expected an s3:// URI string, got {type_name}"):
        parse_uri(value)  # type: ignore[arg-type]


def test_bad_uri_error_is_value_error_and_s3pump_error() -> None:
    with pytest.raises(ValueError, match="not an s3:// URI") as info:
        parse_uri("http://x")
    assert isinstance(info.value, S3PumpError)


def test_parse_uri_returns_an_s3uri_unchanged() -> None:
    uri = S3URI("bucket", "k")
    assert parse_uri(uri) is uri


# --- S3URI -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "is_dir", "prefix", "name", "text"),
    [
        (S3URI("bucket"), True, S3URI("bucket"), "", "s3://bucket/"),
        (S3URI("bucket", "a/b"), False, S3URI("bucket", "a/b/"), "b", "s3://bucket/a/b"),
        (S3URI("bucket", "a/b/"), True, S3URI("bucket", "a/b/"), "b", "s3://bucket/a/b/"),
        (S3URI("bucket", "c.txt"), False, S3URI("bucket", "c.txt/"), "c.txt",
         "s3://bucket/c.txt"),
    ],
)
def test_s3uri_properties(uri: S3URI, is_dir: bool, prefix: S3URI, name: str, text: str
                          ) -> None:
    assert uri.is_dir is is_dir
    assert uri.as_prefix() == prefix
    assert uri.name == name
    assert str(uri) == text
    assert parse_uri(str(uri)) == uri


@pytest.mark.parametrize(
    ("base", "relative", "expected"),
    [
        (S3URI("bucket"), "x/y", S3URI("bucket", "x/y")),
        (S3URI("bucket", "p"), "x", S3URI("bucket", "p/x")),
        (S3URI("bucket", "p/"), "/x", S3URI("bucket", "p/x")),
    ],
)
def test_s3uri_join(base: S3URI, relative: str, expected: S3URI) -> None:
    assert base.join(relative) == expected


def test_s3uri_is_frozen() -> None:
    uri = S3URI("bucket", "k")
    with pytest.raises(AttributeError):
        uri.key = "other"  # type: ignore[misc]


# --- key_to_relpath ----------------------------------------------------------------------

HOSTILE_KEYS = [
    ("../x", "'..' segment"),
    ("a/../../x", "'..' segment"),
    ("a/..", "'..' segment"),
    ("..", "'..' segment"),
    ("/../x", "absolute path"),
    ("/abs", "absolute path"),
    ("/etc/passwd", "absolute path"),
    ("a\\b", "backslash"),
    ("..\\x", "backslash"),
    ("C:/x", "drive-letter path"),
    ("C:x", "drive-letter path"),
    ("c:\\x", "backslash"),
    ("a//b", "empty path segment"),
    ("a//", "empty path segment"),
    ("/", "empty path segment"),
    ("./x", "'.' segment"),
    ("a/./b", "'.' segment"),
    (".", "'.' segment"),
    ("a\x00b", "NUL character"),
    ("a" * 256, "name longer than 255 bytes"),
    ("d/" + "a" * 256 + "/f", "name longer than 255 bytes"),
    ("é" * 128, "name longer than 255 bytes"),  # 128 characters, 256 bytes
]


@pytest.mark.parametrize(("key", "reason"), HOSTILE_KEYS)
def test_key_to_relpath_refuses_hostile_keys(key: str, reason: str) -> None:
    with pytest.raises(UnsafeKeyError, match=reason) as info:
        key_to_relpath(key, "")
    assert info.value.key == key
    assert reason in info.value.reason


@pytest.mark.parametrize(("key", "reason"), HOSTILE_KEYS)
def test_key_to_relpath_refuses_hostile_keys_below_a_prefix(key: str, reason: str) -> None:
    with pytest.raises(UnsafeKeyError, match=reason) as info:
        key_to_relpath("data/" + key, "data/")
    assert info.value.key == "data/" + key


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("a", ("a",)),
        ("a/b/c.txt", ("a", "b", "c.txt")),
        ("with space/file name.txt", ("with space", "file name.txt")),
        ("ünïcødé/日本語.txt", ("ünïcødé", "日本語.txt")),
        ("a+b%20c#d?e=f&g", ("a+b%20c#d?e=f&g",)),
        ("...", ("...",)),
        ("..x/x..", ("..x", "x..")),
        (".hidden/.file", (".hidden", ".file")),
        ("x/C:y", ("x", "C:y")),  # only a leading drive letter matters
        ("ab:c", ("ab:c",)),
        ("a" * 255, ("a" * 255,)),
        ("é" * 127 + "a", ("é" * 127 + "a",)),  # 255 bytes
        ("😀" * 63 + "abc", ("😀" * 63 + "abc",)),  # 4-byte characters: 255 bytes
        ("dir/", ("dir",)),
        ("a/b/", ("a", "b")),
    ],
)
def test_key_to_relpath_accepts_safe_keys(key: str, parts: tuple[str, ...]) -> None:
    assert key_to_relpath(key, "") == PurePosixPath(*parts)
    assert key_to_relpath("pre/fix/" + key, "pre/fix/") == PurePosixPath(*parts)


def test_key_to_relpath_prefix_marker_is_none() -> None:
    assert key_to_relpath("data/", "data/") is None
    assert key_to_relpath("", "") is None


def test_key_to_relpath_refuses_a_key_outside_the_prefix() -> None:
    with pytest.raises(UnsafeKeyError, match="not under the prefix 'data/'"):
        key_to_relpath("other/x", "data/")


def test_local_target_joins_under_dest(tmp_path: Path) -> None:
    rel = key_to_relpath("p/a/b.txt", "p/")
    assert rel is not None
    assert local_target(tmp_path, rel) == tmp_path / "a" / "b.txt"


_KEY_ALPHABET = st.sampled_from(["a", "b", "é", "日", "/", ".", "..", "\\", ":", "C:", "\x00",
                                 " ", "~", "%", "?", "#", "*"])


@given(st.lists(_KEY_ALPHABET, max_size=12).map("".join) | st.text(max_size=40))
@example("a/../../x")
@example("/../x")
@example("a/.")
def test_accepted_keys_stay_under_the_destination(key: str) -> None:
    dest = "/srv/dest"
    try:
        rel = key_to_relpath(key, "")
    except UnsafeKeyError:
        return
    if rel is None:
        assert key == ""
        return
    joined = os.path.normpath(os.path.join(dest, *rel.parts))
    assert joined.startswith(dest + os.sep)
    # No normalisation happened: the path is exactly the key's segments.
    assert joined == dest + "/" + key.removesuffix("/")
    assert all(part not in ("", ".", "..") for part in rel.parts)
