"""The rows a preview shows: the first ``display.limit`` rows, blob-like values not fetched."""

from __future__ import annotations

from typing import Any

from ..settings import config
from .page import Page, page_of

__all__ = ["take_preview"]


def take_preview(query: Any, limit: int | None = None, *, count: bool = True) -> Page:
    """The first page of ``query`` in key order (``display.limit`` rows unless ``limit``);
    ``count=False`` leaves the total unknown when rows follow (a display that counts in the
    background: its first paint never waits for ``count(*)``)."""
    return page_of(query, limit=limit or config["display.limit"], count=count)
