"""``DiagramWidget``: the interactive, live dj.Diagram view (anywidget, dagre layout, SVG).

The widget's state is the diagram's JSON model (nodes, edges, direction, theme); the
drawing is ``static/diagram.js``, with the vendored dagre ESM handed to it as a string.
A widget showing a diagram listens for catalogue changes (:mod:`dj_jupyter.catalog.events`):
when a table of one of its schemas is declared, dropped or altered it re-evaluates the
same diagram expression and redraws. Hovering a node shows its definition; clicking it
pages through its rows with the ``_rows`` command (:func:`~dj_jupyter.display.page.page_of`).

Job status: every Computed/Imported node carries its keys done of its key source, keys
reserved (being made here or by workers elsewhere) and failed keys, read for all tables at
once by :class:`~dj_jupyter.populate.status.StatusReader` (the ``status`` trait). The view
asks for a fresh reading (the ``_status`` command) only while it is on screen and something is
in flight — a reserved job, or a populate running in this kernel, which the widget hears of
through the populate events — and stops asking otherwise. ``_errors`` answers a click on a
node's red badge with that table's failures grouped as ``Table.jobs.errors`` groups them.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command

from ..catalog.events import CatalogEvent, PopulateEvent, subscribe, subscribe_catalog
from ..display.diagram.svg import diagram_svg
from ..errors import DataJointError
from ..populate.job_errors import ErrorRows
from ..populate.jobs import JobQueue
from ..populate.status import StatusReader
from ..tables.table import FreeTable

__all__ = ["DAGRE_VERSION", "DiagramWidget", "diagram_esm", "widget_for"]

DAGRE_VERSION = "3.1.3"
PREVIEW_ROWS = 10
STATUS_POLL_MS = 1500  # how often a view on screen asks for status while work is in flight
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
    #: ``{"tables": {name: {total, done, reserved, error, ignore}}, "running": [names],
    #: "read_ms": float}`` — the job status of the auto-populated tables shown.
    status = traitlets.Dict().tag(sync=True)
    poll_ms = traitlets.Int(STATUS_POLL_MS).tag(sync=True)

    _diagram: Any = None  # the diagram shown (its expression is re-evaluated on changes)
    _unsubscribe: Callable[[], None] | None = None
    _reader: StatusReader | None = None
    _running: dict[str, int]  # tables populating in this kernel -> how many runs

    def show(self, diagram: Any) -> DiagramWidget:
        """Replace the drawing with ``diagram``'s current model and follow its schemas."""
        self._diagram = diagram
        self._running = {}
        self._status_lock = threading.Lock()
        self._draw()
        if self._unsubscribe is None:
            self._unsubscribe = subscribe_catalog(self._on_catalog_change,
                                                  connection=diagram.connection)
            _listen_to_populates(self)
        return self

    def _draw(self) -> None:
        model = self._diagram.to_dict()
        with self.hold_sync():
            self.nodes, self.edges = model["nodes"], model["edges"]
            self.direction = model["direction"]
        self.refresh_status()

    # -- job status --------------------------------------------------------------------------
    def refresh_status(self) -> dict:
        """Read the job status of the shown tables (a few statements however many) into the
        ``status`` trait; returns it. A diagram without a connection has no status."""
        connection = getattr(self._diagram, "connection", None)
        if connection is None:
            return self.status
        with self._status_lock:
            if self._reader is None or self._reader.connection is not connection:
                self._reader = StatusReader(connection)
            started = time.perf_counter()
            tables = self._reader.read(node["name"] for node in self.nodes)
            read_ms = (time.perf_counter() - started) * 1000
            self.status = {"tables": {n: s.to_dict() for n, s in tables.items()},
                           "running": sorted(self._running), "read_ms": round(read_ms, 2)}
        return self.status

    @property
    def in_flight(self) -> bool:
        """Whether work runs on a shown table: a reserved job, or a populate in this kernel."""
        tables = self.status.get("tables", {})
        return bool(self._running) or any(s["reserved"] for s in tables.values())

    @command
    def _status(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_status`` command: refresh ``status``; answers whether work is in flight."""
        try:
            self.refresh_status()
            return {"in_flight": self.in_flight}, []
        except Exception as error:  # noqa: BLE001 - a failed reading is shown, never raised
            return {"error": str(error)}, []

    def on_populate(self, event: PopulateEvent) -> None:
        """A populate in this kernel started or finished on a shown table: tell the view."""
        if event.kind not in ("started", "finished"):
            return
        if event.table not in {node["name"] for node in self.nodes}:
            return
        count = self._running.get(event.table, 0) + (1 if event.kind == "started" else -1)
        if count > 0:
            self._running[event.table] = count
        else:
            self._running.pop(event.table, None)
        self.refresh_status()

    @command
    def _errors(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_errors`` command: a shown table's failures, grouped by kind."""
        try:
            return self.error_groups(**(msg or {})), []
        except (DataJointError, TypeError, ValueError) as error:
            return {"error": str(error)}, []

    def error_groups(self, table: str = "") -> dict:
        """``{"table", "groups": [ErrorGroup.to_dict()...]}`` of a shown table's failed jobs."""
        return {"table": table, "groups": [g.to_dict() for g in self._errors_of(table).groups()]}

    def _errors_of(self, table: str) -> ErrorRows:
        if table not in self.status.get("tables", {}):
            raise DataJointError(f"{table!r} is not an auto-populated table of this diagram")
        return JobQueue(FreeTable(self._diagram.connection, table)).errors

    @command
    def _error_action(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The ``_error_action`` command (Retry / Ignore of a group): the groups left."""
        try:
            return self.error_action(**(msg or {})), []
        except (DataJointError, TypeError, ValueError) as error:
            return {"error": str(error)}, []

    def error_action(self, table: str = "", group: int = 0, action: str = "retry") -> dict:
        """Put a group of ``table``'s failed keys back to pending (``retry``) or set them aside
        (``ignore``); answers the groups left, with the status read again."""
        if action not in ("retry", "ignore"):
            raise DataJointError(f"unknown action {action!r}: use 'retry' or 'ignore'")
        errors = self._errors_of(table)
        groups = errors.groups()
        if not 0 <= int(group) < len(groups):
            raise DataJointError(f"{table} has no error group {group!r}; click the badge again")
        keys = groups[int(group)].keys
        done = errors.retry(keys) if action == "retry" else errors.ignore(keys)
        self.refresh_status()
        return {**self.error_groups(table), "done": done, "action": action}

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
        model = {"nodes": self.nodes, "edges": self.edges, "direction": self.direction,
                 "status": self.status.get("tables", {})}
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
        _status_listeners.discard(self)
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


# Widgets showing a diagram hear of populates in this kernel through one listener (held
# weakly: a widget nobody shows any more is dropped by the garbage collector).
# Subscribed only while a widget lives: a subscriber makes every populate build its events.
_status_listeners: weakref.WeakSet[DiagramWidget] = weakref.WeakSet()
_unsubscribe_populates: list[Callable[[], None]] = []


def _listen_to_populates(widget: DiagramWidget) -> None:
    _status_listeners.add(widget)
    if not _unsubscribe_populates:
        _unsubscribe_populates.append(subscribe(_on_populate))


def _on_populate(event: PopulateEvent) -> None:
    widgets = list(_status_listeners)
    if not widgets and _unsubscribe_populates:
        _unsubscribe_populates.pop()()
    if event.kind in ("started", "finished"):
        for widget in widgets:
            widget.on_populate(event)


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
