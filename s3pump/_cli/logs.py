"""The command's logging: one handler on stderr, levels from ``-q``/``-v``, secrets redacted.

The library installs no handlers; the command installs this one on the root logger, so
botocore's and aiohttp's records (at ``-vvv``) go through the same redaction.
"""

from __future__ import annotations

import logging
import os
import sys

from .redact import redact

__all__ = ["configure_logging"]

_SECRET_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def configure_logging(verbosity: int, quiet: bool) -> None:
    """s3pump's records at WARNING (ERROR with ``quiet``, INFO at ``-v``, DEBUG at ``-vv``);
    everyone's at DEBUG from ``-vvv``; all through one redacting handler on stderr."""
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(
        verbosity, logging.DEBUG
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RedactingHandler)]:
        root.removeHandler(old)  # main() run again in one process: one handler, fresh secrets
    handler = _RedactingHandler(sys.stderr)
    handler.addFilter(_Redactor())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity >= 3 else logging.WARNING)
    logging.getLogger("s3pump").setLevel(level)


class _RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The CLI's handler: every record it emits has been through :class:`_Redactor`."""


class _Redactor(logging.Filter):
    """Drops secrets from log lines: secret keys, session tokens, signatures."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets = [v for n in _SECRET_VARS if len(v := os.environ.get(n, "")) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage(), self._secrets)
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            message += "\n" + redact(text, self._secrets)
            record.exc_info, record.exc_text = None, None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        record.msg, record.args = message, None
        return True
