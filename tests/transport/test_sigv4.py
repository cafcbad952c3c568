"""Our SigV4 signer against botocore's: the same Authorization header for the same inputs.

botocore picks its own timestamp when it signs; we read it back from its ``X-Amz-Date`` header
and sign the same request with it, so nothing is patched. A second family of tests lets a real
botocore client serialise and sign S3 calls (captured before they are sent) and checks that
our key encoding gives the same path and our signature the same header.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import string
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3pump._transport.lean.sigv4 import (
    EMPTY_SHA256,
    Credentials,
    SigV4Signer,
    canonical_query,
    payload_sha256,
    quote_key,
    signing_key,
)

AWKWARD = ["ds/../../x", "a//b", "/lead", "trail/", "a b", "a+b", "100%", "q?x=1&y=2#frag",
           "é/ü/日本語", "tab\there", "ctl\x01\x7f", "~tilde", "*star*", "..", ".", "a/./b"]
# Any Unicode text except lone surrogates (they cannot be UTF-8 encoded, nor be S3 keys).
unicode_text = st.characters(exclude_categories=["Cs"])
keys = st.one_of(st.sampled_from(AWKWARD), st.text(unicode_text, min_size=1, max_size=60))
header_names = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1,
                       max_size=20).filter(lambda n: n.lower() not in {
                           "host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
                           "authorization", "date"})
header_values = st.text(alphabet=string.ascii_letters + string.digits + " \t-_:;,./=\"'",
                        max_size=30)
params = st.dictionaries(st.text(unicode_text, min_size=1, max_size=12),
                         st.text(unicode_text, max_size=20), max_size=5)
tokens = st.one_of(st.none(), st.text(alphabet=string.ascii_letters + string.digits + "/+=",
                                      min_size=1, max_size=80))


def _unique_ci(headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() not in {n.lower() for n in seen}:
            seen[name] = value
    return seen


def _botocore_sign(method: str, url: str, headers: dict[str, str], query: dict[str, str],
                   body: bytes, creds: Credentials, region: str) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers), params=query,
                         data=body or None)
    S3SigV4Auth(ReadOnlyCredentials(creds.access_key, creds.secret_key, creds.token),
                "s3", region).add_auth(request)
    return request


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=keys,
    method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST"]),
    query=params,
    headers=st.dictionaries(header_names, header_values, max_size=5).map(_unique_ci),
    token=tokens,
    body=st.binary(max_size=64),
    region=st.sampled_from(["us-east-1", "eu-central-1", "ap-southeast-2"]),
    host=st.sampled_from(["127.0.0.1:9000", "s3.eu-central-1.amazonaws.com",
                          "bucket.s3.amazonaws.com"]),
    secret=st.text(unicode_text, min_size=1, max_size=40),
)
def test_matches_botocore_s3sigv4auth(
    key: str, method: str, query: dict[str, str], headers: dict[str, str], token: str | None,
    body: bytes, region: str, host: str, secret: str,
) -> None:
    creds = Credentials("AKIDEXAMPLE", secret, token)
    if method not in ("PUT", "POST"):
        body = b""
    path = "/bucket/" + quote_key(key)
    expected = _botocore_sign(method, f"http://{host}{path}", headers, query, body, creds, region)
    stamp = expected.headers["X-Amz-Date"]

    sent = SigV4Signer(region).sign(method, host, path, canonical_query(query), headers, creds,
                                    payload_hash=payload_sha256(body), amz_date=stamp)

    assert sent["authorization"] == expected.headers["Authorization"]
    assert sent["x-amz-content-sha256"] == expected.headers["X-Amz-Content-SHA256"]
    assert sent.get("x-amz-security-token") == expected.headers.get("X-Amz-Security-Token")
    for name, value in headers.items():
        assert sent[name.lower()] == value


def test_aws_documented_example() -> None:
    """AWS's own S3 SigV4 example (GET /test.txt with a Range header), fixed to its answer."""
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    sent = SigV4Signer("us-east-1").sign(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", "", {"Range": "bytes=0-9"}, creds,
        amz_date="20130524T000000Z",
    )
    assert sent["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_signing_key_is_derived_per_day_region_service_and_cached() -> None:
    def derive(secret: str, date: str, region: str, service: str) -> bytes:
        k = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return k

    first = signing_key("secret", "20240101", "us-east-1", "s3")
    assert first == derive("secret", "20240101", "us-east-1", "s3")
    assert signing_key("secret", "20240101", "us-east-1", "s3") is first
    assert signing_key("secret", "20240102", "us-east-1", "s3") != first
    assert signing_key("secret", "20240101", "eu-west-1", "s3") != first
    assert signing_key("other", "20240101", "us-east-1", "s3") != first


def test_default_timestamp_is_now_and_credentials_hide_the_secret() -> None:
    creds = Credentials("AK", "very-secret", "session-tok-42")
    sent = SigV4Signer("us-east-1").sign("GET", "h", "/b/k", "", {}, creds)
    assert len(sent["x-amz-date"]) == 16 and sent["x-amz-date"].endswith("Z")
    assert sent["x-amz-content-sha256"] == EMPTY_SHA256
    assert "very-secret" not in repr(creds) and "session-tok-42" not in repr(creds)


def test_callers_copies_of_signer_headers_are_replaced() -> None:
    creds = Credentials("AK", "SK")
    sent = SigV4Signer("us-east-1").sign(
        "GET", "h", "/b/k", "", {"Host": "evil", "X-Amz-Date": "x", "User-Agent": "me"}, creds,
        amz_date="20240101T000000Z")
    assert sent["host"] == "h" and sent["x-amz-date"] == "20240101T000000Z"
    assert "user-agent" not in sent["authorization"].split("SignedHeaders=")[1].split(",")[0]


# --- a real botocore client serialises and signs; we must agree on path and signature ------

class _Captured(Exception):
    """Raised instead of sending a captured request."""


_CLIENT_TOKENS = st.sampled_from([None, "FwoGZXIvYXdzEJr//////////wEaDKz+tok=="])
_clients: dict[str | None, tuple[Any, dict[str, Any]]] = {}


def _capturing_client(token: str | None) -> tuple[Any, dict[str, Any]]:
    """A botocore client (one per token: they are slow to make) whose requests are captured
    just before they would be sent, then stopped with :class:`_Captured`."""
    if token in _clients:
        return _clients[token]
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", endpoint_url="http://127.0.0.1:9", region_name="eu-west-1",
        aws_access_key_id="AKID", aws_secret_access_key="SECRET", aws_session_token=token,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )
    captured: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> None:
        captured["request"] = request
        raise _Captured  # never sent

    client.meta.events.register("before-send.s3", capture)
    _clients[token] = client, captured
    return client, captured


def _resign(request: Any, token: str | None, body: bytes = b"") -> tuple[str, str]:
    parts = urlsplit(request.url)
    theirs = request.headers["Authorization"].decode()
    # botocore adds some headers (Content-Length, amz-sdk-*) after signing: give our signer
    # the headers botocore signed, plus User-Agent, which both leave unsigned.
    signed = set(theirs.split("SignedHeaders=")[1].split(",")[0].split(";")) | {"user-agent"}
    headers = {
        k: v.decode() if isinstance(v, bytes) else v
        for k, v in request.headers.items()
        if k.lower() in signed
    }
    stamp = headers["X-Amz-Date"]
    # botocore's URL query is encoded already; canonical form only needs the pairs sorted.
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    sent = SigV4Signer("eu-west-1").sign(
        request.method, parts.netloc, parts.path, query, headers,
        Credentials("AKID", "SECRET", token), payload_hash=payload_sha256(body),
        amz_date=stamp)
    return sent["authorization"], theirs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, token=_CLIENT_TOKENS, first=st.integers(0, 10**9), length=st.integers(1, 10**6))
def test_botocore_client_get_object_same_path_and_signature(
    key: str, token: str | None, first: int, length: int
) -> None:
    client, captured = _capturing_client(token)
    with contextlib.suppress(_Captured):
        client.get_object(Bucket="bkt", Key=key, Range=f"bytes={first}-{first + length - 1}",
                          IfMatch='"0123abcd"')
    request = captured["request"]
    assert urlsplit(request.url).path == "/bkt/" + quote_key(key)
    ours, theirs = _resign(request, token)
    assert ours == theirs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, token=_CLIENT_TOKENS, body=st.binary(max_size=200), part=st.integers(1, 10_000),
       upload_id=st.text(alphabet=string.ascii_letters + string.digits + "-_.~+/=", min_size=1,
                         max_size=40))
def test_botocore_client_put_and_upload_part_same_signature(
    key: str, token: str | None, body: bytes, part: int, upload_id: str
) -> None:
    client, captured = _capturing_client(token)
    with contextlib.suppress(_Captured):
        client.put_object(Bucket="bkt", Key=key, Body=body)
    ours, theirs = _resign(captured["request"], token, body)
    assert ours == theirs

    with contextlib.suppress(_Captured):
        client.upload_part(Bucket="bkt", Key=key, Body=body, PartNumber=part, UploadId=upload_id)
    request = captured["request"]
    assert sorted(urlsplit(request.url).query.split("&")) == canonical_query(
        {"partNumber": str(part), "uploadId": upload_id}).split("&")
    ours, theirs = _resign(request, token, body)
    assert ours == theirs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.text(unicode_text, max_size=30),
       token=st.one_of(st.none(), st.text(unicode_text, min_size=1, max_size=30)),
       delimiter=st.sampled_from(["/", "|", "é"]), max_keys=st.integers(1, 1000))
def test_botocore_client_list_objects_v2_same_query_and_signature(
    prefix: str, token: str | None, delimiter: str, max_keys: int
) -> None:
    client, captured = _capturing_client(None)
    kwargs: dict[str, Any] = {"Bucket": "bkt", "Prefix": prefix, "Delimiter": delimiter,
                              "MaxKeys": max_keys, "EncodingType": "url"}
    if token:
        kwargs["ContinuationToken"] = token
    with contextlib.suppress(_Captured):
        client.list_objects_v2(**kwargs)
    request = captured["request"]
    ours = {"list-type": "2", "prefix": prefix, "delimiter": delimiter,
            "max-keys": str(max_keys), "encoding-type": "url"}
    if token:
        ours["continuation-token"] = token
    assert sorted(urlsplit(request.url).query.split("&")) == canonical_query(ours).split("&")
    mine, theirs = _resign(request, None)
    assert mine == theirs
