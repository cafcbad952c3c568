"""Removing secrets from text that is about to be logged."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact"]

_PATTERNS = [
    # SigV4 signatures in headers and presigned query strings.
    (re.compile(r"(Signature=)[0-9a-fA-F]{16,}"), r"\1***"),
    # botocore.auth's debug line "Signature:\n<hex>".
    (re.compile(r"(Signature:\s*)[0-9a-fA-F]{16,}"), r"\1***"),
    (re.compile(r"(X-Amz-Signature=)[^&\s'\"]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(X-Amz-Security-Token[=:]\s*['\"]?)[^&\s'\",}]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(x-amz-security-token['\"]?:\s*b?['\"])[^'\"]+", re.IGNORECASE), r"\1***"),
    # SSE-C keys: request headers and botocore's parameters (repr'd dicts, debug lines).
    (re.compile(r"((?:x-amz-(?:copy-source-)?server-side-encryption-customer-key|"
                r"(?:CopySource)?SSECustomerKey)['\"]?\s*[=:,]\s*b?['\"]?)[^'\"\s,})&]+",
                re.IGNORECASE), r"\1***"),
    # name = value, name: value, ('name', 'value'), name='value' (reprs, headers, files).
    (re.compile(r"((?:aws_secret_access_key|secret_access_key|SecretAccessKey|secret_key|"
                r"aws_session_token|session_token|SessionToken|security_token|token|"
                r"x-amz-security-token)['\"]?\s*[=:,]\s*b?['\"]?)(?!Signature=)[^'\"\s,})&]+",
                re.IGNORECASE), r"\1***"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values and every signature or token replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
