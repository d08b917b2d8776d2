"""``DiagramWidget``: the interactive, live dj.Diagram view (anywidget, dagre layout, SVG).

The widget's state is the diagram's JSON model (nodes, edges, direction, theme); the
drawing is ``static/diagram.js``, with the vendored dagre ESM handed to it as a string.
A widget showing a diagram listens for catalogue changes (:mod:`dj_jupyter.catalog.events`):
when a table of one of its schemas is declared, dropped or altered it re-evaluates the
same diagram expression and redraws. Hovering a node shows its definition; clicking it
pages through its rows with the ``_rows`` command (:func:`~dj_jupyter.display.page.page_of`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command

from ..catalog.events import CatalogEvent, subscribe_catalog
from ..display.diagram.svg import diagram_svg
from ..errors import DataJointError

__all__ = ["DAGRE_VERSION", "DiagramWidget", "diagram_esm", "widget_for"]

DAGRE_VERSION = "3.1.3"
PREVIEW_ROWS = 10
_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def diagram_esm() -> str:
    """The widget's ES module: the dagre source as a string constant, then diagram.js."""
    dagre = (_STATIC / "vendor" / f"dagre-{DAGRE_VERSION}.mjs").read_text(encoding="utf-8")
    code = (_STATIC / "diagram.js").read_text(encoding="utf-8")
    return f"const DAGRE_SOURCE = {json.dumps(dagre)};\n{code}"


@cache
def diagram_css() -> str:
    return (_STATIC / "diagram.css").read_text(encoding="utf-8")


class DiagramWidget(anywidget.AnyWidget):
    """Draws a diagram model (``Diagram.to_dict()``); set its traits to redraw."""

    _esm = diagram_esm()
    _css = diagram_css()
    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List(traitlets.Dict()).tag(sync=True)
    direction = traitlets.Enum(["LR", "TB"], default_value="LR").tag(sync=True)
    theme = traitlets.Enum(["auto", "light", "dark"], default_value="auto").tag(sync=True)
    page_size = traitlets.Int(PREVIEW_ROWS).tag(sync=True)

    _diagram: Any = None  # the diagram shown (its expression is re-evaluated on changes)
    _unsubscribe: Callable[[], None] | None = None

    def show(self, diagram: Any) -> DiagramWidget:
        """Replace the drawing with ``diagram``'s current model and follow its schemas."""
        self._diagram = diagram
        self._draw()
        if self._unsubscribe is None:
            self._unsubscribe = subscribe_catalog(self._on_catalog_change,
                                                  connection=diagram.connection)
        return self

    def _draw(self) -> None:
        model = self._diagram.to_dict()
        with self.hold_sync():
            self.nodes, self.edges = model["nodes"], model["edges"]
            self.direction = model["direction"]

    @property
    def schemas(self) -> set[str]:
        """The schemas whose changes redraw this widget."""
        if self._diagram is None:
            return set()
        return _schemas_of(getattr(self._diagram, "_expr", None)) | {
            node["schema"] for node in self.nodes}

    # -- what a notebook keeps: a static picture next to the widget view -------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The widget view plus :meth:`static_bundle`, so that a saved notebook, GitHub and
        nbviewer (which cannot run the widget) show the diagram as a picture."""
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown if isinstance(shown, tuple) else (shown, {})
        return {**data, **self.static_bundle()}, metadata

    def static_bundle(self) -> dict[str, str]:
        """``image/svg+xml`` of the diagram (laid out in Python) and a ``text/plain`` summary."""
        model = {"nodes": self.nodes, "edges": self.edges, "direction": self.direction}
        theme = "dark" if self.theme == "dark" else "light"
        return {"image/svg+xml": diagram_svg(model, theme), "text/plain": self.summary()}

    def summary(self) -> str:
        """One line naming what the diagram shows (its ``text/plain``)."""
        schemas = sorted({node["schema"] for node in self.nodes})
        return (f"dj.Diagram: {_count(len(self.nodes), 'table')}, "
                f"{_count(len(self.edges), 'foreign key')} in "
                f"{_count(len(schemas), 'schema').partition(' ')[2]} {', '.join(schemas) or '-'}")

    def __repr__(self) -> str:
        return self.summary()

    def _on_catalog_change(self, event: CatalogEvent) -> None:
        if self._diagram is None or event.schema not in self.schemas:
            return
        self._diagram.refresh()
        self._draw()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().close()

    # -- rows of a clicked node ------------------------------------------------------------
    @command
    def _rows(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_rows`` command: one page of a shown table, or ``{"error": message}``."""
        try:
            return self.rows_page(**(msg or {})), []
        except (DataJointError, TypeError, ValueError) as error:
            return {"error": str(error)}, []

    def rows_page(self, table: str = "", offset: int = 0, limit: int | None = None) -> dict:
        """A page of the rows of ``table`` (a ``schema.table`` this diagram shows)."""
        from ..display.page import page_of
        from ..tables.table import FreeTable

        if table not in {node["name"] for node in self.nodes}:
            raise DataJointError(f"{table!r} is not a table of this diagram; click one of its "
                                 "nodes")
        connection = getattr(self._diagram, "_connection", None)
        if connection is None:
            raise DataJointError("this diagram has no connection to read rows from")
        page = page_of(FreeTable(connection, table), offset=int(offset),
                       limit=int(limit or self.page_size))
        return page.to_dict()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _schemas_of(expr: Any) -> set[str]:
    """Schemas named by a diagram expression (its selections, however combined)."""
    if expr is None:
        return set()
    found = set(getattr(expr, "schemas", ()))
    found |= {name.partition(".")[0] for name in getattr(expr, "tables", ())}
    for part in ("left", "right", "base"):
        found |= _schemas_of(getattr(expr, part, None))
    return found


def widget_for(diagram: Any, theme: str | None = None) -> DiagramWidget:
    from dj_jupyter.settings import config

    widget = DiagramWidget(theme=theme or config["display.diagram_theme"])
    return widget.show(diagram)
