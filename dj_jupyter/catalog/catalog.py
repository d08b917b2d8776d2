"""The catalogue of one connection: what it knows of the database's tables, and when that changes.

A :class:`Catalog` belongs to one :class:`~dj_jupyter.backends.connection.Connection`
(``catalog_of(connection)`` makes it on first use; the connection only holds it). It keeps
the table metadata read from the database, the foreign-key graph, the ``dj.Schema`` objects
active on the connection, a generation number that tables compare to know their cached
metadata is stale, and caches that must not outlive a change of the tables (job queues,
insert plans). Every DDL reports through one entry point, :meth:`Catalog.changed`: the caches
are dropped and the event, carrying its connection, goes to the catalogue listeners.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..algebra.heading import TableInfo
from ..backends.connection import Connection
from . import metadata
from .dependencies import Dependencies
from .dependency_graph import DependencyGraph
from .events import CatalogEvent, publish_catalog

__all__ = ["Catalog", "catalog_of", "graph_for"]


class Catalog:
    """Table metadata, the dependency graph and per-generation caches of one connection."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.generation = 0  # bumped by every change: tables re-read their metadata
        self.schemas: dict[str, Any] = {}  # the dj.Schema objects active on the connection
        self._tables: dict[str, dict[str, TableInfo]] = {}
        self._loading: dict[str, dict[str, TableInfo]] = {}
        self._dependencies: Dependencies | None = None
        self._caches: dict[str, dict] = {}
        self.dependency_graph = DependencyGraph(self)  # connection.dependencies (DataJoint's)

    def table_info(self, schema: str, table: str) -> TableInfo | None:
        """What the database says about ``schema.table`` (cached), or None if it is missing."""
        return self.schema_tables(schema).get(table)

    def schema_tables(self, schema: str) -> dict[str, TableInfo]:
        """Every table of a schema, read once and cached until the next change."""
        if schema in self._loading:  # schemas referring to each other: use what is read so far
            return self._loading[schema]
        if schema not in self._tables:
            self._loading[schema] = metadata.load_schema(self.connection, schema)
            try:
                self._tables[schema] = metadata.fill_missing_lineage(
                    schema, self._loading[schema],
                    lambda full: self.table_info(*full.split(".", 1)))
            finally:
                del self._loading[schema]
        return self._tables[schema]

    @property
    def dependencies(self) -> Dependencies:
        """The foreign-key graph of every DataJoint schema in this database (cached)."""
        if self._dependencies is None:
            self._dependencies = Dependencies(self.connection, self.schema_tables)
        return self._dependencies

    def graph_for(self, names: Iterable[str]) -> Dependencies:
        """The graph a delete or drop of the tables ``names`` needs: the whole graph if it is
        loaded already, else only their schemas and the schemas downstream of them."""
        if self._dependencies is not None:
            return self._dependencies
        return Dependencies(self.connection, self.schema_tables,
                            {n.partition(".")[0] for n in names})

    def cache(self, name: str) -> dict:
        """A dictionary kept until the next change of the catalogue (job queues, plans)."""
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = {}
        return found

    def changed(self, event: CatalogEvent | None = None) -> None:
        """Tables were declared, dropped or altered: forget what was read and tell listeners.

        Without an event only the caches go (e.g. after writing the lineage table).
        """
        self._dependencies = None
        self._tables.clear()
        self._caches.clear()
        self.generation += 1
        self.connection.forget_prepared()
        if event is not None:
            publish_catalog(dataclasses.replace(event, connection=self.connection))


def graph_for(connection: Connection, names: Iterable[str]) -> Dependencies:
    """``catalog_of(connection).graph_for(names)``."""
    return catalog_of(connection).graph_for(names)


def catalog_of(connection: Connection) -> Catalog:
    """The catalogue of ``connection``, made on first use and kept by the connection."""
    catalog = connection.catalog
    if catalog is None:
        catalog = connection.catalog = Catalog(connection)
    return catalog


# ``connection.dependencies`` asks for the catalogue through this (backends sit below us)
Connection.catalog_maker = catalog_of
