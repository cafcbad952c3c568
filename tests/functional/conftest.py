"""Fixtures of the functional tests that need a server of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests._rclone import RcloneServer

OWN_KEY, OWN_SECRET = "other-side-key", "other-side-secret"


@pytest.fixture(scope="session")
def rclone_own(tmp_path_factory: pytest.TempPathFactory, _aws_env: None
               ) -> Iterator[RcloneServer]:
    """``rclone serve s3`` with keys of its own (``other-side-key``), not the test
    environment's: a request signed with any other credentials gets 403."""
    server = RcloneServer(tmp_path_factory.mktemp("rclone-own"), access_key=OWN_KEY,
                          secret_key=OWN_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A shared credentials file whose profile ``other`` holds ``rclone_own``'s keys (the
    default credentials stay the environment's): returns the profile's name."""
    creds = tmp_path / "credentials"
    creds.write_text(f"[other]\naws_access_key_id = {OWN_KEY}\n"
                     f"aws_secret_access_key = {OWN_SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    return "other"


@pytest.fixture
def own_s3(rclone_own: RcloneServer) -> Any:
    """A boto3 client on ``rclone_own``, with its keys."""
    return boto3.client("s3", endpoint_url=rclone_own.url, region_name="us-east-1",
                        aws_access_key_id=OWN_KEY, aws_secret_access_key=OWN_SECRET,
                        config=Config(request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))
