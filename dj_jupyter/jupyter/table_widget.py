"""``TableWidget``: rows of a table or query, paged and sorted by the database.

The widget's state holds one page (``Page.to_dict()``). Paging and sorting in the browser
call the ``_page`` command, which runs :func:`~dj_jupyter.display.page.page_of` and returns
only the requested page; the query itself never leaves the kernel. The first page is shown
without counting the rows: a :class:`~dj_jupyter.display.pager.Pager` counts them and reads
position anchors in the background, and the count reaches the browser in the ``total``
trait ("page 1 of …" until then). The drawing is
``static/table.js``; styles are ``display/table.css`` plus ``static/table.css``.

Array cells show shape, dtype and size (``Page.summaries``); clicking one calls ``_cell_open``,
which fetches that one value (lazily: an ``NpyRef`` reads nothing yet) and opens the array
preview (``static/preview.js``) below the table, its frames served by ``_cell_frame``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command

from ..display.cells import stored_meta
from ..display.html import page_html, rows_css
from ..display.images import attachment_image
from ..display.page import Page, cell_value, page_of
from ..display.pager import Pager
from ..display.text import page_text
from ..errors import DataJointError
from ..settings import config
from .preview import PreviewSession, preview_css, preview_esm

__all__ = ["TableWidget", "PAGE_SIZES", "table_esm", "table_css"]

PAGE_SIZES = (10, 25, 50, 100)
_STATIC = resources.files("dj_jupyter.jupyter") / "static"
_REQUEST_FIELDS = {"offset", "limit", "order_by", "descending"}


@cache
def table_esm() -> str:
    return (_STATIC / "table.js").read_text(encoding="utf-8")


@cache
def table_css() -> str:
    return "\n".join([rows_css(), (_STATIC / "table.css").read_text(encoding="utf-8"),
                      preview_css()])


class TableWidget(anywidget.AnyWidget):
    """One page of ``query`` with paging and sorting controls; pages come from the database."""

    _esm = table_esm()
    _css = table_css()
    page = traitlets.Dict().tag(sync=True)
    page_sizes = traitlets.List(traitlets.Int()).tag(sync=True)
    preview_esm = traitlets.Unicode("").tag(sync=True)  # loaded by the browser on a click
    total = traitlets.Int(None, allow_none=True).tag(sync=True)  # the row count, once counted

    def __init__(self, query: Any, *, limit: int | None = None, page: Page | None = None,
                 **kwargs: Any):
        first = page or page_of(query, limit=limit or config["display.limit"], count=False)
        sizes = sorted({first.limit, *PAGE_SIZES})
        super().__init__(page=first.to_dict(), page_sizes=sizes, total=first.total,
                         preview_esm=preview_esm() if first.summaries else "", **kwargs)
        self._query = query
        self.cell_preview: PreviewSession | None = None
        self.pager = Pager(query, page=first, on_total=self._counted)

    @property
    def query(self) -> Any:
        return self._query

    @property
    def current(self) -> Page:
        """The page on screen."""
        return self.pager.current

    def _counted(self, total: int) -> None:
        """The row count arrived (from the pager's survey thread): send it to the browser."""
        self.total = total

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The widget view plus the current page as HTML and text, which a saved notebook,
        GitHub and nbviewer show where the widget cannot run."""
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown if isinstance(shown, tuple) else (shown, {})
        page = self.current
        if page.total is None and self.pager.total is not None:  # counted by now
            page = replace(page, total=self.pager.total)
        return {**data, "text/html": page_html(page), "text/plain": page_text(page)}, metadata

    def __repr__(self) -> str:
        page = self.current
        return (f"dj table: rows {page.offset + 1 if page.rows else 0}-"
                f"{page.offset + len(page.rows)} of "
                f"{'…' if page.total is None else page.total}")

    def fetch_page(self, **request: Any) -> Page:
        """The page the browser asks for (offset, limit, order_by, descending), remembered."""
        unknown = set(request) - _REQUEST_FIELDS
        if unknown:
            raise DataJointError(f"page request has unknown field(s) {sorted(unknown)}; "
                                 f"use {sorted(_REQUEST_FIELDS)}")
        page = self.pager.page(**request)
        self.total = self.pager.total
        return page

    def refresh(self) -> TableWidget:
        """Fetch the current view again (e.g. after changes by another session), count the
        rows again, and send it to the browser."""
        self.total = None
        self.page = self.pager.refresh().to_dict()
        self.total = self.pager.total
        return self

    @command
    def _page(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_page`` command: a page as a dict, or ``{"error": message}``."""
        try:
            request = dict(msg) if isinstance(msg, dict) else {}
            return self.fetch_page(**request).to_dict(), []
        except DataJointError as error:
            return {"error": str(error)}, []
        except Exception as error:  # noqa: BLE001 - the browser waits for an answer
            return {"error": f"{type(error).__name__}: {error}"}, []

    def open_cell(self, row: int, column: str) -> PreviewSession:
        """Start previewing the array in ``column`` of row ``row`` of the current page."""
        if column not in self.current.summaries:
            raise DataJointError(f"column {column!r} holds no arrays to preview")
        attachment = self._query.heading[column].codec == "attach"
        value = cell_value(self._query, self.current, row, column, raw=attachment)
        if value is None:
            raise DataJointError(f"{column} is NULL in this row")
        position = self.current.offset + row + 1
        title = f"{column}, row {position}"
        if attachment:  # an image file: decoded from the store, not downloaded
            meta = stored_meta(value)
            if meta is None:
                raise DataJointError(f"{column} in this row is not a stored attachment")
            name, value = attachment_image(meta)
            title = f"{name} ({title})"
        self.cell_preview = PreviewSession(value, title=title)
        return self.cell_preview

    @command
    def _cell_open(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_cell_open`` command: the preview's opening state, or ``{"error": ...}``."""
        try:
            request = msg if isinstance(msg, dict) else {}
            return self.open_cell(int(request.get("row", -1)), str(request.get("column"))
                                  ).opening(), []
        except DataJointError as error:
            return {"error": str(error)}, []
        except Exception as error:  # noqa: BLE001 - the browser waits for an answer
            return {"error": f"{type(error).__name__}: {error}"}, []

    @command
    def _cell_frame(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        if self.cell_preview is None:
            return {"error": "no cell is open; click an array cell"}, []
        return self.cell_preview.frame_answer(msg)

    @command
    def _cell_stats(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        if self.cell_preview is None:
            return {"error": "no cell is open; click an array cell"}, []
        return self.cell_preview.stats_answer()
