"""``s3pump put``/``sync`` on moto store a Content-Type guessed from the file name, as
``aws s3 cp`` does; ``--content-type`` forces one, ``--no-guess-mime-type`` sends none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s3pump._cli import main


def _type(s3: Any, bucket: str, key: str) -> str:
    return str(s3.head_object(Bucket=bucket, Key=key)["ContentType"])


@pytest.mark.parametrize("transport", ["lean", "reference"])
def test_put_one_file_guesses_its_type(endpoint: str, bucket: str, s3: Any, tmp_path: Path,
                                       transport: str) -> None:
    page = tmp_path / "index.html"
    page.write_text("<p>hi</p>")
    assert main(["put", str(page), f"s3://{bucket}/", "--endpoint-url", endpoint,
                 "--transport", transport, "-q"]) == 0
    assert _type(s3, bucket, "index.html") == "text/html"


def test_put_dir_and_sync_guess_force_or_leave_out(endpoint: str, bucket: str, s3: Any,
                                                   tmp_path: Path) -> None:
    src = tmp_path / "site"
    src.mkdir()
    (src / "a.css").write_text("p{}")
    (src / "b.json").write_text("[]")
    base = ["--endpoint-url", endpoint, "-q"]
    assert main(["put", str(src), f"s3://{bucket}/put/", *base]) == 0
    assert main(["sync", str(src), f"s3://{bucket}/sync/", "--content-type", "text/plain",
                 *base]) == 0
    assert main(["put", str(src), f"s3://{bucket}/none/", "--no-guess-mime-type", *base]) == 0
    assert [_type(s3, bucket, f"put/{n}") for n in ("a.css", "b.json")] == [
        "text/css", "application/json"]
    assert {_type(s3, bucket, f"sync/{n}") for n in ("a.css", "b.json")} == {"text/plain"}
    assert {_type(s3, bucket, f"none/{n}") for n in ("a.css", "b.json")} == {
        "binary/octet-stream"}


def test_a_blank_content_type_is_a_usage_error(endpoint: str, bucket: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "index.html"
    page.write_text("x")
    code = main(["put", str(page), f"s3://{bucket}/", "--content-type", " ",
                 "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == 2 and "content_type" in err and "Traceback" not in err
