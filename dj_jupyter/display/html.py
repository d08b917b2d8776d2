"""Static rich HTML of a query: key marked, types as tooltips, badges, the total count.

Needs no kernel (it renders in nbconvert HTML and on GitHub, where styles are dropped but
the key marker, badges and note still read). Styles are ``table.css``, a package file.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from typing import Any

from ..settings import config
from .cells import sparkline_svg
from .page import Page
from .preview import take_preview

__all__ = ["preview_html", "page_html", "rows_css", "header_tooltip", "array_cell_html"]

KEY_MARK = "\u26b7"  # ⚷, in DejaVu, Segoe UI Symbol and Apple Symbols


@cache
def rows_css() -> str:
    """The stylesheet shared by the static preview and the table widget."""
    return files(__package__).joinpath("table.css").read_text(encoding="utf-8")


def preview_html(query: Any) -> str:
    """The HTML a notebook shows for ``query``: its first ``display.limit`` rows."""
    try:
        page = take_preview(query)
    except Exception as error:  # noqa: BLE001 - a display must not raise
        return (f'<div class="dj-preview"><p class="dj-note">{html.escape(type(query).__name__)}'
                f": preview unavailable ({html.escape(str(error))})</p></div>")
    return page_html(page)


def page_html(page: Page) -> str:
    head = "".join(_header_cell(page, name) for name in page.names)
    body = "".join(_row(page, i, row) for i, row in enumerate(page.rows))
    return (f"<style>{rows_css()}</style>"
            f'<div class="dj-preview"><table class="dj-rows"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table><p class="dj-note">{html.escape(note(page))}</p>'
            "</div>")


def note(page: Page) -> str:
    """What the rows are: "3 rows", or "first 12 of 1,234 rows"."""
    shown, total = len(page.rows), page.total
    if not config["display.show_tuple_count"]:
        return f"first {shown} rows" if page.more else ""
    if page.more or page.offset:
        start = f"first {shown}" if page.offset == 0 else \
            f"rows {page.offset + 1:,}–{page.offset + shown:,}"
        return f"{start} of {total:,} rows" if total is not None else f"{start} rows"
    return f"{total:,} row" + ("" if total == 1 else "s")


def header_tooltip(page: Page, name: str) -> str:
    """The header's tooltip: name and declared type, the comment, whether it is in the key."""
    lines = [f"{name} : {page.types.get(name, '')}"]
    if page.comments.get(name):
        lines.append(page.comments[name])
    if name in page.key:
        lines.append("(primary key)")
    if name in page.badges:
        lines.append("(values not fetched for display)")
    return "\n".join(lines)


def _header_cell(page: Page, name: str) -> str:
    title = html.escape(header_tooltip(page, name))
    if name in page.key:
        return (f'<th class="dj-key" data-column="{html.escape(name)}" title="{title}">'
                f'<span class="dj-key-mark" aria-label="primary key">{KEY_MARK}</span>'
                f"{html.escape(name)}</th>")
    return f'<th data-column="{html.escape(name)}" title="{title}">{html.escape(name)}</th>'


def array_cell_html(summary: dict) -> str:
    """An array cell: shape and dtype, size, and a sparkline or thumbnail when small."""
    picture = ""
    if summary.get("spark"):
        picture = sparkline_svg(summary["spark"])
    elif summary.get("thumb"):
        picture = f'<img class="dj-thumb" src="{html.escape(summary["thumb"])}" alt="">'
    size = f'<span class="dj-array-size">{html.escape(summary["size"])}</span>' \
        if summary.get("size") else ""
    title = html.escape(f"{summary['kind']}: {summary['text']} {summary.get('size', '')}".strip())
    return (f'<span class="dj-array-cell" title="{title}">{picture}'
            f'<span class="dj-array-text">{html.escape(summary["text"])}</span>{size}</span>')


def _row(page: Page, index: int, values: list[str]) -> str:
    cells = []
    for name, value in zip(page.names, values):
        summary = page.summaries[name][index] if name in page.summaries else None
        if summary is not None:
            content = array_cell_html(summary)
        elif name in page.summaries:
            content = '<span class="dj-null">NULL</span>'
        elif name in page.badges:
            content = (f'<span class="dj-badge" title="{html.escape(name)}: not fetched">'
                       f"{html.escape(value)}</span>")
        elif value == "NULL":
            content = '<span class="dj-null">NULL</span>'
        else:
            content = html.escape(value)
        cls = ' class="dj-key-cell"' if name in page.key else ""
        cells.append(f"<td{cls}>{content}</td>")
    return "<tr>" + "".join(cells) + "</tr>"
