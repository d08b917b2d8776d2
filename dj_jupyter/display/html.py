"""A plain HTML preview of a query (the notebook layer replaces it with a richer one)."""

from __future__ import annotations

import html
from typing import Any

from ..settings import config
from .preview import take_preview


def preview_html(query: Any) -> str:
    preview = take_preview(query)
    head = "".join(
        f'<th title="{html.escape(preview.comments.get(n, ""))}">'
        f'{"<b>" + html.escape(n) + "</b>" if n in preview.key else html.escape(n)}</th>'
        for n in preview.names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in preview.rows)
    more = "<p>…</p>" if preview.more else ""
    total = f"<p>Total: {preview.total}</p>" if config["display.show_tuple_count"] else ""
    return (f'<div class="dj-preview"><table class="dj-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{more}{total}</div>")
