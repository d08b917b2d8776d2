"""``TableWidget``: rows of a table or query, paged and sorted by the database.

The widget's state holds one page (``Page.to_dict()``). Paging and sorting in the browser
call the ``_page`` command, which runs :func:`~dj_jupyter.display.page.page_of` and returns
only the requested page; the query itself never leaves the kernel. The drawing is
``static/table.js``; styles are ``display/table.css`` plus ``static/table.css``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command

from ..display.html import rows_css
from ..display.page import Page, page_of
from ..errors import DataJointError
from ..settings import config

__all__ = ["TableWidget", "PAGE_SIZES", "table_esm", "table_css"]

PAGE_SIZES = (10, 25, 50, 100)
_STATIC = resources.files("dj_jupyter.jupyter") / "static"
_REQUEST_FIELDS = {"offset", "limit", "order_by", "descending"}


@cache
def table_esm() -> str:
    return (_STATIC / "table.js").read_text(encoding="utf-8")


@cache
def table_css() -> str:
    return rows_css() + "\n" + (_STATIC / "table.css").read_text(encoding="utf-8")


class TableWidget(anywidget.AnyWidget):
    """One page of ``query`` with paging and sorting controls; pages come from the database."""

    _esm = table_esm()
    _css = table_css()
    page = traitlets.Dict().tag(sync=True)
    page_sizes = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, query: Any, *, limit: int | None = None, page: Page | None = None,
                 **kwargs: Any):
        first = page or page_of(query, limit=limit or config["display.limit"])
        sizes = sorted({first.limit, *PAGE_SIZES})
        super().__init__(page=first.to_dict(), page_sizes=sizes, **kwargs)
        self._query = query
        self.current = first

    @property
    def query(self) -> Any:
        return self._query

    def fetch_page(self, **request: Any) -> Page:
        """The page the browser asks for (offset, limit, order_by, descending), remembered."""
        unknown = set(request) - _REQUEST_FIELDS
        if unknown:
            raise DataJointError(f"page request has unknown field(s) {sorted(unknown)}; "
                                 f"use {sorted(_REQUEST_FIELDS)}")
        self.current = page_of(self._query, **request)
        return self.current

    def refresh(self) -> TableWidget:
        """Fetch the current view again (e.g. after inserts) and send it to the browser."""
        current = self.current
        self.fetch_page(offset=current.offset, limit=current.limit,
                        order_by=current.order_by, descending=current.descending)
        self.page = self.current.to_dict()
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
