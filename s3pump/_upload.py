"""Uploads of AsyncPump: files, file objects and directories."""

from __future__ import annotations

from ._core import PumpCore

__all__ = ["UploadMixin"]


class UploadMixin(PumpCore):
    """Uploads."""
