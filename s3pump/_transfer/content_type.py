"""The Content-Type an upload sends, guessed from the file name as ``aws s3`` and s5cmd do
(Python's :mod:`mimetypes`, the system's ``mime.types`` included), cached by the name's
last two suffixes: all that :func:`mimetypes.guess_type` looks at (``.tar.gz`` is
``application/x-tar``, as aws has it), so a directory of a million files costs a dict
lookup per file."""

from __future__ import annotations

import mimetypes
import os

__all__ = ["guess_content_type"]

_GUESSED: dict[str, str | None] = {}


def _tail(name: str) -> str:
    """The last two suffixes of ``name`` (``".tar.gz"``, ``".html"``, or ``""``)."""
    dot = name.rfind(".")
    if dot <= 0:  # no suffix, or a dot file such as ".bashrc"
        return ""
    before = name.rfind(".", 0, dot)
    return name[before:] if before > 0 else name[dot:]


def guess_content_type(path: str) -> str | None:
    """The media type for the file ``path`` by its name (None: none known; S3 then
    stores ``binary/octet-stream``)."""
    tail = _tail(os.path.basename(path))
    try:
        return _GUESSED[tail]
    except KeyError:
        guessed = mimetypes.guess_type("f" + tail, strict=True)[0] if tail else None
        if len(_GUESSED) < 4096:  # names with random suffixes must not grow it forever
            _GUESSED[tail] = guessed
        return guessed
