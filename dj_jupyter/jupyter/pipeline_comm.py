"""The kernel end of the JupyterLab pipeline sidebar: a comm target that reports the pipeline.

``%load_ext dj_jupyter`` registers the comm target ``dj_jupyter.pipeline`` (only in a kernel).
The lab extension (labextension/) opens a comm to it; the kernel answers with a *snapshot*
— the schemas this kernel knows, their tables with tier, row count and job counts, and the
words ``%%dj_table`` completion offers — and sends a new one after every cell whose run
changed it. The sidebar never talks to the database itself.

Message to the frontend: ``{"kind": "snapshot", "schemas": [...], "vocabulary": {...}}`` or
``{"kind": "error", "message": ...}``. From the frontend: ``{"request": "refresh"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..catalog import metadata as catalog
from ..catalog import naming
from ..catalog.catalog import catalog_of
from ..errors import DataJointError
from ..pipeline.schema import Schema
from ..populate.jobs import job_table_name
from ..tables.table import FreeTable, Table
from .completion import TIER_WORDS, codec_names, store_names, type_names

__all__ = ["TARGET", "PipelinePublisher", "pipeline_snapshot", "register"]

TARGET = "dj_jupyter.pipeline"


def register(ipython: Any, magics: Any) -> PipelinePublisher | None:
    """Register the comm target and the after-cell hook (once per shell); None without a
    kernel (a plain IPython shell has no frontend to talk to)."""
    kernel = getattr(ipython, "kernel", None)
    if kernel is None:
        return None
    from comm import get_comm_manager  # ipykernel's dependency: a plain IPython may lack it

    previous = getattr(ipython, "_dj_pipeline_publisher", None)
    if previous is not None:
        ipython.events.unregister("post_run_cell", previous.after_cell)
    publisher = PipelinePublisher(ipython, magics)
    get_comm_manager().register_target(TARGET, publisher.open)
    ipython.events.register("post_run_cell", publisher.after_cell)
    ipython._dj_pipeline_publisher = publisher
    return publisher


class PipelinePublisher:
    """Keeps every open sidebar comm up to date with :func:`pipeline_snapshot`."""

    def __init__(self, ipython: Any, magics: Any):
        self.ipython = ipython
        self.magics = magics
        self.comms: list[Any] = []
        self._last: dict | None = None

    def open(self, comm: Any, _open_msg: dict) -> None:
        """A sidebar connected: remember its comm and send it the pipeline now."""
        self.comms.append(comm)
        comm.on_msg(self._on_msg)
        comm.on_close(lambda _msg: self._forget(comm))
        comm.send(self.message())

    def _on_msg(self, msg: dict) -> None:
        if msg["content"]["data"].get("request") == "refresh":
            self.publish(force=True)

    def _forget(self, comm: Any) -> None:
        if comm in self.comms:
            self.comms.remove(comm)

    def after_cell(self, _result: Any = None) -> None:
        """IPython's ``post_run_cell``: send the pipeline if the cell changed it."""
        if self.comms:
            self.publish(force=False)

    def publish(self, force: bool) -> None:
        message = self.message()
        if force or message != self._last:
            for comm in list(self.comms):
                comm.send(message)
        self._last = message

    def message(self) -> dict:
        try:
            snapshot = pipeline_snapshot(self.ipython.user_ns, self.magics)
        except (DataJointError, OSError) as error:
            return {"kind": "error", "message": str(error)}
        except Exception as error:  # noqa: BLE001 - the sidebar must say what went wrong
            return {"kind": "error", "message": f"{type(error).__name__}: {error}"}
        return {"kind": "snapshot", **snapshot}


def pipeline_snapshot(namespace: dict, magics: Any) -> dict:
    """The schemas this kernel knows (active first) with their tables, and the vocabulary."""
    classes = _table_classes(namespace)
    active = getattr(magics, "schema", None)
    schemas = [_schema_entry(schema, classes, schema is active)
               for schema in _known_schemas(namespace, magics, classes)]
    return {"schemas": schemas, "active": active.database if active is not None else None,
            "vocabulary": {"tiers": list(TIER_WORDS), "types": type_names(),
                           "codecs": codec_names(), "stores": store_names()}}


def _table_classes(namespace: dict) -> dict[str, tuple[str, type]]:
    """Bound table classes in the namespace (and their parts): full name -> (path, class)."""
    found: dict[str, tuple[str, type]] = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or not _is_bound_table(value):
            continue
        found.setdefault(value().full_name, (name, value))
        for part_name, part in vars(value).items():
            if part_name[:1].isupper() and _is_bound_table(part):
                found.setdefault(part().full_name, (f"{name}.{part_name}", part))
    return found


def _is_bound_table(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, Table) and value._is_bound()


def _known_schemas(namespace: dict, magics: Any, classes: dict) -> list[Schema]:
    """The active schema, then the schemas of every connection the kernel holds."""
    candidates: list[Any] = [getattr(magics, "schema", None)]
    candidates += [value for value in namespace.values() if isinstance(value, Schema)]
    connections = [getattr(magics, "connection", None)]
    connections += [cls().connection for _, cls in classes.values()]
    connections += [schema.connection for schema in candidates if schema is not None]
    for connection in _unique(c for c in connections if c is not None):
        candidates += list(catalog_of(connection).schemas.values())
    return list(_unique(s for s in candidates
                        if isinstance(s, Schema) and getattr(s, "database", None)))


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if not any(item is other for other in seen):
            seen.append(item)
    return seen


def _schema_entry(schema: Schema, classes: dict, active: bool) -> dict:
    stored = set(catalog.table_names(schema.connection, schema.database or ""))
    tables = [_table_entry(schema, name, classes, stored) for name in schema.list_tables()]
    return {"name": schema.database, "active": active, "tables": tables}


def _table_entry(schema: Schema, table_name: str, classes: dict, stored: set) -> dict:
    """One table: its class path, tier, rows, parents and (auto-populated) job counts."""
    full_name = f"{schema.database}.{table_name}"
    variable, cls = classes.get(full_name, (None, None))
    table = cls() if cls is not None else FreeTable(schema.connection, full_name)
    tier = naming.tier_of(table_name)
    graph = catalog_of(schema.connection).dependencies
    parents = [fk.parent for fk in graph.parents_of.get(full_name, [])]
    entry = {"name": _class_path(table_name), "full_name": full_name, "tier": tier.lower(),
             "variable": variable, "rows": len(table), "parents": _unique(parents),
             "todo": None, "running": 0, "failed": 0}
    if tier in ("Imported", "Computed") and cls is not None:
        entry["todo"] = table.progress()[0]  # type: ignore[union-attr]  # a Computed class
        if job_table_name(table_name) in stored:
            counts = table.jobs.progress()  # type: ignore[union-attr]
            entry["running"], entry["failed"] = counts["reserved"], counts["error"]
    return entry


def _class_path(table_name: str) -> str:
    master = naming.master_of(table_name)
    name = naming.class_name_of(table_name)
    return f"{naming.class_name_of(master)}.{name}" if master else name
