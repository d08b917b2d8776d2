"""The foreign-key graph of DataJoint schemas in one database.

Nodes are ``schema.table`` names; an edge runs from a parent to a child and
carries the :class:`~dj_jupyter.algebra.heading.ForeignKey`. The whole graph is
loaded once per connection (see :attr:`~dj_jupyter.catalog.catalog.Catalog.dependencies`)
and rebuilt after DDL; a delete or drop loads only the schemas it can reach
(:meth:`~dj_jupyter.catalog.catalog.Catalog.graph_for`: the table's own schema and,
transitively, the schemas whose foreign keys refer to it), so other users' schemas on a shared
server are never read. A schema that another session drops while the graph loads is left out,
not an error. It answers with names; the tables layer turns them into ``FreeTable`` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.heading import ForeignKey, TableInfo
from ..errors import DataJointError
from . import metadata as catalog
from .naming import master_of_full_name

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["Dependencies", "topological_order"]

LOAD_ATTEMPTS = 3


class Dependencies:
    """The graph of every DataJoint schema, or (``schemas=``) of those schemas and every
    schema downstream of them; ``schema_tables`` reads a schema's tables (the catalogue's)."""

    def __init__(self, connection: Connection,
                 schema_tables: Callable[[str], dict[str, TableInfo]],
                 schemas: Iterable[str] | None = None, *, downstream: bool = True):
        self.connection = connection
        self._schema_tables = schema_tables
        self.tables: dict[str, TableInfo] = {}
        if schemas is None:
            for schema in catalog.list_schemas(connection):
                self._load(schema)
        elif downstream:
            self._load_downstream(schemas)
        else:  # exactly these schemas (DataJoint's ``dependencies.load(schema_names=...)``)
            for schema in dict.fromkeys(schemas):
                self._load(schema)
        self.parents_of: dict[str, list[ForeignKey]] = {n: [] for n in self.tables}
        self.children_of: dict[str, list[ForeignKey]] = {n: [] for n in self.tables}
        for info in self.tables.values():
            for fk in info.foreign_keys:
                self.parents_of[fk.child].append(fk)
                self.children_of.setdefault(fk.parent, []).append(fk)

    def _load_downstream(self, schemas: Iterable[str]) -> None:
        seen: set[str] = set()
        pending = list(dict.fromkeys(schemas))
        while pending:
            schema = pending.pop()
            if schema in seen:
                continue
            seen.add(schema)
            if self._load(schema):
                pending.extend(_attempt(lambda s=schema: catalog.referencing_schemas(
                    self.connection, s), lambda: []))

    def _load(self, schema: str) -> bool:
        """Add ``schema``'s tables; False if the schema is gone (dropped meanwhile)."""
        connection = self.connection
        for attempt in range(LOAD_ATTEMPTS):
            try:
                tables = self._schema_tables(schema)
            except (KeyError, sa.exc.SQLAlchemyError,
                    *connection._driver_errors()) as error:  # type: ignore[misc]
                # a table or the whole schema vanished between two catalogue reads
                if not _exists(connection, schema):
                    return False
                if attempt == LOAD_ATTEMPTS - 1:
                    raise DataJointError(
                        f"cannot read the tables of schema {schema!r} ({error}); other sessions "
                        "may be changing it — try again") from None
                continue
            for info in tables.values():
                self.tables[info.full_name] = info
            return True
        return False  # pragma: no cover - the loop returns or raises

    @property
    def names(self) -> list[str]:
        return topological_order(self.tables, self.parents_of)

    def descendants(self, names: Iterable[str]) -> list[str]:
        """``names`` and everything downstream, parents before children."""
        found = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in found:
                continue
            found.add(name)
            stack.extend(fk.child for fk in self.children_of.get(name, ()))
        return [n for n in self.names if n in found]

    def ancestors(self, name: str) -> list[str]:
        found = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(fk.parent for fk in self.parents_of.get(current, ()))
        return [n for n in self.names if n in found]

    def related(self, table: Any, direction: str, primary: bool | None,
                foreign_key_info: bool) -> list:
        """Names of the parents or children of ``table`` (with foreign-key details if asked)."""
        edges = (self.parents_of if direction == "parents" else self.children_of).get(
            table.full_name, [])
        if primary is not None:
            edges = [fk for fk in edges if fk.primary == primary]
        other = (lambda fk: fk.parent) if direction == "parents" else (lambda fk: fk.child)
        if foreign_key_info:  # one entry per foreign key: a parent may be referenced twice
            return [(other(fk), {"attr_map": dict(fk.attr_map), "primary": fk.primary,
                                 "nullable": fk.nullable, "unique": fk.unique}) for fk in edges]
        return list(dict.fromkeys(other(fk) for fk in edges))


def _exists(connection: Connection, schema: str) -> bool:
    return _attempt(lambda: catalog.LINEAGE in catalog.table_names(connection, schema),
                    lambda: False)


def _attempt(read, fallback):
    """``read()``, or ``fallback()`` if the catalogue changed under it (a schema dropped)."""
    try:
        return read()
    except (KeyError, sa.exc.SQLAlchemyError, DataJointError):
        return fallback()


def topological_order(tables: Iterable[str], parents_of: dict[str, list[ForeignKey]]) -> list[str]:
    """Parents before children; parts right after their master; ties by name."""
    names = sorted(tables)
    pending = {n: {fk.parent for fk in parents_of.get(n, ()) if fk.parent in parents_of}
               for n in names}
    order: list[str] = []
    placed: set[str] = set()
    while pending:
        ready = sorted(n for n, deps in pending.items() if deps <= placed)
        if not ready:
            raise RuntimeError(f"foreign-key cycle among {sorted(pending)}")
        # place masters' parts as soon as they are ready, keeping them next to their master
        name = ready[0]
        order.append(name)
        placed.add(name)
        del pending[name]
        parts = [n for n in sorted(pending) if master_of_full_name(n) == name
                 and pending[n] <= placed]
        for part in parts:
            order.append(part)
            placed.add(part)
            del pending[part]
    return order
