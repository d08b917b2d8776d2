"""Display formatters for tables and query results, registered by ``%load_ext dj_jupyter``.

With the extension loaded, a result longer than one page (``display.limit`` rows) shows as a
:class:`~dj_jupyter.jupyter.table_widget.TableWidget`, with the static HTML and text of its
first page alongside for frontends without widgets; a shorter one shows as static HTML.
"""

from __future__ import annotations

from typing import Any

from ..display.html import page_html
from ..display.preview import take_preview
from ..display.text import page_text
from ..query.expression import QueryExpression

__all__ = ["register", "unregister", "table_mimebundle"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def register(ipython: Any) -> None:
    """Show queries through :func:`table_mimebundle` (registering twice changes nothing)."""
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.for_type(QueryExpression, table_mimebundle)


def unregister(ipython: Any) -> None:
    """Undo :func:`register` (for ``%unload_ext dj_jupyter``)."""
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.type_printers.pop(QueryExpression, None)


def table_mimebundle(query: QueryExpression) -> tuple[dict, dict] | None:
    """The first page as text and HTML, plus the widget when more rows follow.

    ``(data, metadata)`` as IPython expects; None when the rows cannot be read, so that
    the plain reprs explain the problem.
    """
    try:
        page = take_preview(query)
    except Exception:  # noqa: BLE001 - a display must not raise; the reprs report it
        return None
    data: dict[str, Any] = {"text/plain": page_text(page), "text/html": page_html(page)}
    metadata: dict[str, Any] = {}
    if page.more:
        from .table_widget import TableWidget

        shown = TableWidget(query, page=page)._repr_mimebundle_()
        if shown is not None:
            data[WIDGET_MIME], metadata = shown[0][WIDGET_MIME], shown[1]
    return data, metadata
