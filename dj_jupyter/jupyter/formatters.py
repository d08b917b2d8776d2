"""Display formatters for tables and query results, registered by ``%load_ext dj_jupyter``.

With the extension loaded, a result longer than one page (``display.limit`` rows), or one with
array columns (whose cells open a preview), shows as a
:class:`~dj_jupyter.jupyter.table_widget.TableWidget`, with the static HTML and text of its
first page alongside for frontends without widgets; a shorter one shows as static HTML.

Array values show as an :class:`~dj_jupyter.jupyter.preview.ArrayPreview` (with a PNG of the
first frame alongside): an ``NpyRef``, an ``ObjectRef`` of an ``.npy``/``.zarr`` object, an
xarray ``DataArray``, and a numeric numpy array of at least ``MIN_PREVIEW_SIZE`` elements
(smaller ones keep numpy's text).

A DataFrame from ``to_pandas()`` shows its array cells as the table displays' badges
(:mod:`~dj_jupyter.display.frames`); any other DataFrame keeps pandas' reprs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..display.frames import frame_html
from ..display.html import page_html
from ..display.preview import take_preview
from ..display.text import page_text
from ..objects.codecs.objects import ObjectRef
from ..objects.codecs.stored import NpyRef
from ..query.expression import QueryExpression

__all__ = ["register", "unregister", "table_mimebundle", "array_mimebundle", "frame_mimebundle"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MIN_PREVIEW_SIZE = 16  # numpy arrays smaller than this keep their text repr
_ARRAY_TYPES: tuple[type, ...] = (NpyRef, ObjectRef, np.ndarray)
_XARRAY = ("xarray.core.dataarray", "DataArray")


def register(ipython: Any) -> None:
    """Show queries through :func:`table_mimebundle` (registering twice changes nothing)."""
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.for_type(QueryExpression, table_mimebundle)
    for kind in _ARRAY_TYPES:
        formatter.for_type(kind, array_mimebundle)
    formatter.for_type_by_name(*_XARRAY, array_mimebundle)
    formatter.for_type(pd.DataFrame, frame_mimebundle)


def unregister(ipython: Any) -> None:
    """Undo :func:`register` (for ``%unload_ext dj_jupyter``)."""
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.type_printers.pop(QueryExpression, None)
    for kind in _ARRAY_TYPES:
        formatter.type_printers.pop(kind, None)
    formatter.deferred_printers.pop(_XARRAY, None)
    formatter.type_printers.pop(pd.DataFrame, None)


def frame_mimebundle(frame: Any) -> dict | None:
    """A ``to_pandas()`` frame's HTML with its array cells as badges; None for any other
    frame (pandas' own reprs show it)."""
    shown = frame_html(frame)
    return None if shown is None else {"text/html": shown}


def table_mimebundle(query: QueryExpression) -> tuple[dict, dict] | None:
    """The first page as text and HTML, plus the widget when more rows follow.

    ``(data, metadata)`` as IPython expects; None when the rows cannot be read, so that
    the plain reprs explain the problem.
    """
    try:
        page = take_preview(query, count=False)  # the widget counts in the background
    except Exception:  # noqa: BLE001 - a display must not raise; the reprs report it
        return None
    data: dict[str, Any] = {"text/plain": page_text(page), "text/html": page_html(page)}
    metadata: dict[str, Any] = {}
    if page.more or page.summaries:  # paging, or array cells to open
        from .table_widget import TableWidget

        shown = TableWidget(query, page=page)._repr_mimebundle_()
        if shown is not None:
            data[WIDGET_MIME], metadata = shown[0][WIDGET_MIME], shown[1]
    return data, metadata


def array_mimebundle(value: Any) -> tuple[dict, dict] | None:
    """The array preview widget with its PNG and text; None (the plain repr) for what it
    cannot show: an ObjectRef that is not an array, a small or non-numeric numpy array."""
    if isinstance(value, np.ndarray) and (value.size < MIN_PREVIEW_SIZE or
                                          value.dtype.kind not in "biufc"):
        return None
    from .preview import ArrayPreview

    try:
        return ArrayPreview(value)._repr_mimebundle_()
    except Exception:  # noqa: BLE001 - a display must not raise; the plain repr remains
        return None
