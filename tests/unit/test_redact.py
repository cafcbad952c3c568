"""Unit tests for s3pump._cli.redact: nothing secret survives into a log line."""

from __future__ import annotations

import pytest

from s3pump._cli.redact import redact

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH+abc/def==ghiJKLmnop"
SIG = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"


def test_given_secrets_are_removed() -> None:
    text = f"key={SECRET} and again {SECRET}!"
    out = redact(text, [SECRET])
    assert SECRET not in out
    assert out.count("***") == 2
    assert "and again" in out


def test_empty_secret_is_ignored() -> None:
    assert redact("plain text", ["", "absent"]) == "plain text"


def test_plain_text_is_unchanged() -> None:
    text = "GET s3://bucket/a/b.txt 200 1234 bytes in 0.01 s"
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        # SigV4 Authorization header.
        (f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/"
         f"aws4_request, SignedHeaders=host;x-amz-date, Signature={SIG}",
         SIG, "SignedHeaders=host;x-amz-date, Signature=***"),
        # The same header inside a header dict repr, as bytes.
        (f"{{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/"
         f"aws4_request, SignedHeaders=host, Signature={SIG}'}}", SIG, "Signature=***'"),
        # Presigned URL.
        (f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600"
         f"&X-Amz-Signature={SIG}&x-id=GetObject", SIG, "X-Amz-Signature=***"),
        (f"url=https://h/k?x-amz-signature={SIG}", SIG, "x-amz-signature=***"),
        (f"X-Amz-Signature={SIG[:10]}", SIG[:10], "X-Amz-Signature=***"),
        # Security tokens in query strings.
        (f"https://h/k?X-Amz-Credential=AKID%2F20240101&X-Amz-Security-Token={TOKEN}"
         f"&X-Amz-Signature={SIG}", TOKEN, "X-Amz-Security-Token=***"),
        ("https://h/k?X-Amz-Security-Token=FwoG%2Babc%2Fdef%3D%3D&X-Amz-Date=20240101",
         "FwoG%2Babc%2Fdef%3D%3D", "X-Amz-Security-Token=***"),
        # Security tokens in header dict reprs, str and bytes values, either quote.
        (f"headers={{'X-Amz-Security-Token': '{TOKEN}', 'Host': 'h'}}", TOKEN,
         "'Host': 'h'"),
        (f"headers={{'x-amz-security-token': b'{TOKEN}'}}", TOKEN, "x-amz-security-token"),
        (f'headers={{"X-Amz-Security-Token": "{TOKEN}"}}', TOKEN, "X-Amz-Security-Token"),
        (f"X-Amz-Security-Token: {TOKEN}\r\nHost: h", TOKEN, "Host: h"),
        # Credential files and dicts.
        (f"aws_secret_access_key = {SECRET}\n", SECRET, "aws_secret_access_key = ***"),
        (f"aws_secret_access_key={SECRET}", SECRET, "aws_secret_access_key=***"),
        (f"[default]\naws_access_key_id = AKID\naws_secret_access_key = {SECRET}\nregion = x",
         SECRET, "region = x"),
        (f"AWS_SECRET_ACCESS_KEY={SECRET}", SECRET, "AWS_SECRET_ACCESS_KEY=***"),
        (f"aws_session_token = {TOKEN}", TOKEN, "aws_session_token = ***"),
        (f"{{'SecretAccessKey': '{SECRET}', 'AccessKeyId': 'AKID'}}", SECRET, "AccessKeyId"),
        (f'{{"SessionToken": "{TOKEN}"}}', TOKEN, "SessionToken"),
    ],
)
def test_patterns_remove_secrets(text: str, secret: str, kept: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "***" in out
    assert kept in out


def test_every_secret_in_a_realistic_debug_line_is_removed() -> None:
    line = (
        "DEBUG botocore.endpoint Sending http request: <AWSPreparedRequest stream_output=True, "
        "method=GET, url=https://bucket.s3.amazonaws.com/key, headers={'User-Agent': b'x', "
        f"'X-Amz-Date': b'20240101T000000Z', 'X-Amz-Security-Token': b'{TOKEN}', "
        "'Authorization': b'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/"
        f"aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={SIG}'}}>"
    )
    out = redact(line, [SECRET])
    for leaked in (TOKEN, SIG, SIG[:16], TOKEN[:12]):
        assert leaked not in out
    assert "url=https://bucket.s3.amazonaws.com/key" in out
    assert "'X-Amz-Date': b'20240101T000000Z'" in out


def test_redact_is_idempotent() -> None:
    text = f"aws_secret_access_key = {SECRET} X-Amz-Signature={SIG}"
    once = redact(text, [SECRET])
    assert redact(once, [SECRET]) == once


@pytest.mark.parametrize(
    "text",
    [
        f"raw_headers=(('Host', 'h'), ('X-Amz-Security-Token', '{TOKEN}'))",
        f"[(b'x-amz-security-token', b'{TOKEN}'), (b'host', b'h')]",
    ],
)
def test_security_token_in_header_tuples_is_redacted(text: str) -> None:
    # Bug: headers logged as (name, value) pairs (list(headers.items()), aiohttp's
    # raw_headers) keep the token: the header patterns need ': ' or '=' right after the name,
    # and here a quote and ', ' come between. §6.8: never a session token in the logs.
    out = redact(text)
    assert TOKEN not in out
    assert "***" in out


def test_botocore_credentials_repr_is_redacted() -> None:
    # Bug: botocore's ReadOnlyCredentials is a namedtuple whose repr names the fields
    # secret_key= and token=; only token= is caught, the secret key goes to the log
    # unless it happens to be in the secrets list (the CLI only lists environment values,
    # not keys read from a profile or an SSO/IMDS session).
    text = f"ReadOnlyCredentials(access_key='AKID', secret_key='{SECRET}', token='{TOKEN}')"
    out = redact(text)
    assert SECRET not in out
    assert TOKEN not in out
    assert "access_key='AKID'" in out


def test_botocore_signature_debug_line_is_redacted() -> None:
    # botocore.auth logs "Signature:\n<hex>" at debug level.
    out = redact(f"Signature:\n{SIG}")
    assert SIG not in out
    assert out == "Signature:\n***"


def test_signed_headers_list_keeps_the_signature_label() -> None:
    text = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, "
            f"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={SIG}")
    out = redact(text)
    assert SIG not in out
    assert out.endswith("SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=***")
