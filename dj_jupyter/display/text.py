"""The terminal ``repr`` of a query: a fixed-width table, ``*`` marking key columns."""

from __future__ import annotations

from typing import Any

from ..settings import config
from .page import Page
from .preview import take_preview

__all__ = ["preview_text", "page_text"]


def preview_text(query: Any) -> str:
    try:
        preview = take_preview(query)
    except Exception as error:  # noqa: BLE001 - a repr must not raise
        return f"<{type(query).__name__}: preview unavailable ({error})>"
    return page_text(preview)


def page_text(page: Page) -> str:
    """A page as fixed-width text (badge columns show their badge)."""
    width = config["display.width"]
    headers = [("*" if n in page.key else "") + n for n in page.names]
    widths = [min(width, max([len(h), *(len(r[i]) for r in page.rows)]))
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(_fit(cell, w) for cell, w in zip(cells, widths))

    lines = [line(headers), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in page.rows]
    if page.more:
        lines.append("   ...")
    if config["display.show_tuple_count"] and page.total is not None:
        lines.append(f" (Total: {page.total})")
    return "\n".join(lines) + "\n"


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"
