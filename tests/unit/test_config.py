"""Unit tests for s3pump._config: config validation."""

from __future__ import annotations

import dataclasses

import pytest

from s3pump._config import ClientConfig, MiB, TransferConfig
from s3pump._errors import ConfigError, S3PumpError

# Endpoint precedence is tested against botocore in tests/test_endpoints_resolve.py.


# --- ClientConfig ------------------------------------------------------------------------


def test_client_config_defaults() -> None:
    config = ClientConfig()
    assert (config.endpoint_url, config.region, config.profile) == (None, None, None)
    assert config.addressing_style is None  # the profile's, else auto


@pytest.mark.parametrize("style", ["auto", "path", "virtual"])
def test_client_config_accepts_addressing_styles(style: str) -> None:
    assert ClientConfig(addressing_style=style).addressing_style == style


@pytest.mark.parametrize("style", ["Path", "", "host", "virtual-hosted"])
def test_client_config_rejects_unknown_addressing_style(style: str) -> None:
    with pytest.raises(ConfigError, match="addressing_style must be one of auto, path, virtual"):
        ClientConfig(addressing_style=style)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000", "https://s3.example.com"])
def test_client_config_accepts_http_endpoints(url: str) -> None:
    assert ClientConfig(endpoint_url=url).endpoint_url == url


@pytest.mark.parametrize("url", ["127.0.0.1:9000", "s3://bucket", "ftp://host", ""])
def test_client_config_rejects_endpoint_without_scheme(url: str) -> None:
    with pytest.raises(ConfigError, match="endpoint URL must start with http:// or https://"):
        ClientConfig(endpoint_url=url)


def test_config_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="addressing_style") as info:
        ClientConfig(addressing_style="nope")
    assert isinstance(info.value, S3PumpError)


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ClientConfig().region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        TransferConfig().concurrency = 1  # type: ignore[misc]


# --- TransferConfig ----------------------------------------------------------------------

POSITIVE_FIELDS = ["concurrency", "small_object_size", "chunk_size", "multipart_threshold",
                   "part_size", "max_parts", "part_concurrency", "max_attempts"]


@pytest.mark.parametrize("field", POSITIVE_FIELDS)
@pytest.mark.parametrize("value", [0, -1, True, 1.5, "8", None])
def test_transfer_config_positive_integers(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"{field} must be a positive integer, not "):
        TransferConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", POSITIVE_FIELDS)
def test_transfer_config_accepts_one(field: str) -> None:
    assert getattr(TransferConfig(**{field: 1}), field) == 1  # type: ignore[arg-type]


def test_transfer_config_concurrency_limit() -> None:
    assert TransferConfig(concurrency=1024).concurrency == 1024
    with pytest.raises(ConfigError, match="concurrency must be at most 1024, not 1025"):
        TransferConfig(concurrency=1025)


def test_transfer_config_queue_size() -> None:
    assert TransferConfig(queue_size=0).queue_size == 0
    with pytest.raises(ConfigError, match="queue_size must be >= 0, not -1"):
        TransferConfig(queue_size=-1)


@pytest.mark.parametrize("kwargs", [{"backoff_base": -0.1}, {"backoff_cap": -1.0}])
def test_transfer_config_rejects_negative_backoff(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="backoff times must be >= 0"):
        TransferConfig(**kwargs)


def test_transfer_config_accepts_zero_backoff() -> None:
    config = TransferConfig(backoff_base=0, backoff_cap=0)
    assert (config.backoff_base, config.backoff_cap) == (0, 0)


def test_transfer_config_defaults_memory_bound() -> None:
    config = TransferConfig()
    assert config.concurrency * max(config.small_object_size, config.chunk_size) == 64 * MiB


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 128),
        ({"concurrency": 4}, 8),
        ({"concurrency": 4, "queue_size": 3}, 3),
        ({"queue_size": 1}, 1),
    ],
)
def test_stream_buffer(kwargs: dict[str, int], expected: int) -> None:
    assert TransferConfig(**kwargs).stream_buffer == expected


@pytest.mark.parametrize(
    ("part_size", "max_parts", "size", "expected"),
    [
        (8 * MiB, 10_000, 0, 8 * MiB),
        (8 * MiB, 10_000, 1, 8 * MiB),
        (8 * MiB, 10_000, 10_000 * 8 * MiB, 8 * MiB),  # exactly max_parts parts
        (8 * MiB, 10_000, 10_000 * 8 * MiB + 1, 16 * MiB),  # one byte more: doubled
        (8 * MiB, 10_000, 5 * 1024**4, 1024 * MiB),  # 5 TiB, S3's largest object
        (10, 3, 30, 10),
        (10, 3, 31, 20),
        (10, 3, 61, 40),
        (10, 1, 1000, 1280),
    ],
)
def test_part_size_for(part_size: int, max_parts: int, size: int, expected: int) -> None:
    config = TransferConfig(part_size=part_size, max_parts=max_parts)
    got = config.part_size_for(size)
    assert got == expected
    assert -(-size // got) <= max_parts
