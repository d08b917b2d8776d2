"""``connection.dependencies``: DataJoint's dependency graph of a connection, as its users see it.

The foreign-key graph of the schemas activated on the connection (``dj.Schema``), read with
:meth:`DependencyGraph.load` and asked with ``parents``/``children`` (one entry per foreign key,
with DataJoint's edge properties), ``descendants``/``ancestors``, ``topo_sort``, ``in`` and
``number_of_edges``. Tables are named as ``Table.full_table_name`` names them (quoted, as in
DataJoint); ``schema.table`` is accepted too. Unlike DataJoint's, the graph never goes stale:
after any declare, drop or alter on the connection the next question reloads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..algebra.heading import ForeignKey
from ..errors import DataJointError
from .dependencies import Dependencies, topological_order

if TYPE_CHECKING:
    from .catalog import Catalog

__all__ = ["DependencyGraph"]


class DependencyGraph:
    """The foreign-key graph of the schemas activated on one connection (DataJoint's
    ``connection.dependencies``)."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        self._graph: Dependencies | None = None
        self._generation = -1
        self._schemas: frozenset[str] = frozenset()
        self._asked: frozenset[str] | None = None  # None: the activated schemas, when asked
        self._quoted: dict[str, str] = {}  # schema.table -> its full_table_name
        self._raw: dict[str, str] = {}  # full_table_name -> schema.table

    # -- loading -------------------------------------------------------------------------------
    def load(self, force: bool = True, schema_names: Iterable[str] | None = None) -> None:
        """Read the graph of ``schema_names`` (default: the schemas activated on the
        connection); with ``force=False`` only if it was not read since the last change."""
        if not force and self._is_current() and schema_names is None:
            return
        self._asked = None if schema_names is None else frozenset(schema_names)
        names = frozenset(self._activated()) if self._asked is None else self._asked
        catalog = self._catalog
        self._graph = Dependencies(catalog.connection, catalog.schema_tables, names,
                                   downstream=False)
        self._generation, self._schemas = catalog.generation, names
        self._quoted = {name: self._quote(name) for name in self._all_names()}
        self._raw = {quoted: name for name, quoted in self._quoted.items()}

    def load_all_downstream(self) -> None:
        """Load the activated schemas and every schema whose foreign keys reach them."""
        catalog = self._catalog
        around = Dependencies(catalog.connection, catalog.schema_tables, self._activated())
        self._load_unless_held({name.partition(".")[0] for name in around.tables})

    def load_all_upstream(self) -> None:
        """Load the activated schemas and every schema they reference, transitively."""
        schemas = set(self._activated())
        while True:
            graph = Dependencies(self._catalog.connection, self._catalog.schema_tables, schemas,
                                 downstream=False)
            found = {fk.parent.partition(".")[0] for info in graph.tables.values()
                     for fk in info.foreign_keys} - schemas
            if not found:
                break
            schemas |= found
        self._load_unless_held(schemas)

    def _load_unless_held(self, schemas: set[str]) -> None:
        if not (self._is_current() and schemas <= self._schemas):
            self.load(schema_names=schemas)

    def clear(self) -> None:
        """Forget the graph (the next question loads it again)."""
        self._graph, self._generation = None, -1

    def _is_current(self) -> bool:
        return self._graph is not None and self._generation == self._catalog.generation

    def _activated(self) -> list[str]:
        return [name for name, schema in self._catalog.schemas.items()
                if getattr(schema, "database", name) is not None]

    def _graph_now(self) -> Dependencies:
        if not self._is_current():
            self.load(schema_names=self._asked)
        assert self._graph is not None
        return self._graph

    # -- names ---------------------------------------------------------------------------------
    def _all_names(self) -> list[str]:
        graph = self._graph
        assert graph is not None
        names = dict.fromkeys(graph.tables)
        for fk in _edges(graph):
            names.setdefault(fk.parent)
        return list(names)

    def _quote(self, name: str) -> str:
        connection = self._catalog.connection
        schema, _, table = name.partition(".")
        preparer = connection.engine.dialect.identifier_preparer
        sa_schema, address = connection.dialect.table_address(schema, table)
        quoted = preparer.quote_identifier(address)
        return f"{preparer.quote_identifier(sa_schema)}.{quoted}" if sa_schema else quoted

    def _name(self, table: Any) -> str:
        """``schema.table`` of a full table name (quoted or not) or of a table object."""
        name = getattr(table, "full_name", table)
        self._graph_now()
        if name in self._quoted:
            return name
        if name in self._raw:
            return self._raw[name]
        raise DataJointError(
            f"{name!r} is not a table of the loaded dependency graph (schemas "
            f"{', '.join(sorted(self._schemas)) or 'none'}); activate its schema, or call "
            "connection.dependencies.load_all_downstream()")

    # -- questions -----------------------------------------------------------------------------
    @property
    def nodes(self) -> list[str]:
        """Every table of the graph, by its full table name."""
        self._graph_now()
        return list(self._raw)

    def __contains__(self, table: object) -> bool:
        self._graph_now()
        name = getattr(table, "full_name", table)
        return name in self._raw or name in self._quoted

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(parent, child) of every foreign key: a child referencing a parent twice gives
        two edges."""
        return [(self._quoted[fk.parent], self._quoted[fk.child])
                for fk in _edges(self._graph_now())]

    def number_of_edges(self, parent: Any = None, child: Any = None) -> int:
        """How many foreign keys run from ``parent`` to ``child`` (all of them without both)."""
        if parent is None or child is None:
            return len(self.edges)
        parent_name, child_name = self._name(parent), self._name(child)
        return sum(fk.parent == parent_name for fk in
                   self._graph_now().parents_of.get(child_name, ()))

    def parents(self, table: Any, primary: bool | None = None) -> list[tuple[str, dict]]:
        """(parent, edge properties) per foreign key of ``table``; ``primary``: only those
        within (True) or reaching outside (False) its primary key."""
        graph = self._graph_now()
        return [(self._quoted[fk.parent], self._properties(fk))
                for fk in graph.parents_of.get(self._name(table), ())
                if primary is None or fk.primary == primary]

    def children(self, table: Any, primary: bool | None = None) -> list[tuple[str, dict]]:
        """(child, edge properties) per foreign key referencing ``table``."""
        graph = self._graph_now()
        return [(self._quoted[fk.child], self._properties(fk))
                for fk in graph.children_of.get(self._name(table), ())
                if primary is None or fk.primary == primary]

    def descendants(self, table: Any) -> list[str]:
        """``table`` first, then every table downstream of it, parents before children."""
        name = self._name(table)
        below = set(self._graph_now().descendants([name])) - {name}
        return [self._quoted[name]] + [n for n in self.topo_sort() if self._raw[n] in below]

    def ancestors(self, table: Any) -> list[str]:
        """``table`` first, then every table upstream of it, children before parents (the
        reverse of :meth:`topo_sort`, as DataJoint gives them)."""
        name = self._name(table)
        above = set(self._graph_now().ancestors(name)) - {name}
        return [self._quoted[name]] + [n for n in reversed(self.topo_sort())
                                       if self._raw[n] in above]

    def topo_sort(self) -> list[str]:
        """Every table, parents before children (parts right after their master)."""
        graph = self._graph_now()
        names = self._all_names()
        return [self._quoted[n] for n in topological_order(names, {
            n: graph.parents_of.get(n, []) for n in names})]

    def _properties(self, fk: ForeignKey) -> dict:
        """DataJoint's edge properties of one foreign key."""
        attr_map = dict(fk.attr_map)
        child = self._graph_now().tables.get(fk.child)
        key = set(child.heading.primary_key) if child is not None else set(attr_map)
        return {"primary": fk.primary, "attr_map": attr_map, "aliased": fk.renamed,
                "multi": set(attr_map) != key, "nullable": fk.nullable, "unique": fk.unique}

    def __repr__(self) -> str:
        return (f"<dependencies of {', '.join(sorted(self._schemas)) or 'no schema'}: "
                f"{len(self._raw)} tables, {len(self.edges) if self._graph else 0} foreign keys>")


def _edges(graph: Dependencies) -> list[ForeignKey]:
    return [fk for info in graph.tables.values() for fk in info.foreign_keys]
