"""``dj.Diagram``: a live, composable view of the foreign-key graph.

Long module: the diagram expression, its evaluation over the graph snapshot and DataJoint's
Diagram API on top (cascade, trace, collapse, prune) share the expression's private state;
split, each part would reach into the others'. Propagating restrictions lives apart
(:mod:`.restrictions`).

A diagram is an expression over the dependency graph — the tables it was made
from, combined with ``+ - *`` and grown by ``+ n`` / ``- n`` generations — so it
can be evaluated again after :meth:`Diagram.refresh` and still mean the same
thing. As in DataJoint, ``Diagram(table)`` is that table alone (``add_parts()`` adds the parts
of the masters shown) and ``+ n`` / ``- n`` follow foreign keys only. Rendering lives in
:mod:`.render` (Mermaid, Graphviz), :mod:`.svg` and, for notebooks, the widget; this
module only builds the model.

DataJoint 2.x's API: ``Diagram(source, context)`` (class names as ``context`` knows them),
``Diagram.cascade(expr)`` (what a delete would remove, counted), ``Diagram.trace(expr)``
(the ancestors of the rows), ``restrict(expr)`` (downstream, AND-ed), ``collapse()``
(one node per schema; expanded wins in ``+``),
``prune()`` (without empty tables), ``counts()``, ``diagram[Table]`` and iteration as
``FreeTable``s, ``nodes_to_show`` (the shown tables' ``full_table_name``s), ``make_dot()`` (a
``pydot.Dot``), ``svg_string()`` (in ``display.diagram_theme``) and ``make_mermaid()``.
``dj.diagram`` is this module; ``diagram_active`` says whether Graphviz drawing is available.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from dj_jupyter.errors import DataJointError

from ...algebra.heading import ForeignKey, TableInfo
from ...catalog import naming
from ...catalog.catalog import catalog_of
from ...tables.table import FreeTable
from .restrictions import (
    as_query,
    cascade_restrictions,
    restrict_downstream,
    trace_restrictions,
)

if TYPE_CHECKING:
    from ...backends.connection import Connection

__all__ = ["Diagram", "DiagramEdge", "DiagramNode", "diagram_active"]

# Whether make_dot()/svg_string() can draw (pydot and Graphviz's ``dot`` program), as
# DataJoint's ``dj.diagram.diagram_active``; Mermaid and the widget need neither.
diagram_active: bool = (importlib.util.find_spec("pydot") is not None
                        and shutil.which("dot") is not None)


# -- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagramNode:
    """One table as the diagram shows it."""

    name: str  # schema.table
    schema: str
    table: str
    tier: str  # Manual, Lookup, Imported, Computed or Part
    class_name: str  # Master.Part for parts
    master: str | None  # full name of a part's master
    new_dimension: bool  # introduces primary-key attributes of its own
    definition: str
    folded: bool = False  # drawn inside its schema's single node (``Diagram.collapse``)
    rows: int | None = None  # rows a cascade or trace diagram counts for the table


@dataclass(frozen=True)
class DiagramEdge:
    """One foreign key, drawn from parent to child."""

    parent: str
    child: str
    attr_map: tuple[tuple[str, str], ...]  # (child attribute, parent attribute)
    primary: bool  # every FK attribute is in the child's primary key
    one_to_one: bool  # the FK is the child's whole primary key
    renamed: bool  # some attribute is aliased (``-> Parent.proj(new='old')``)
    nullable: bool


class _Graph:
    """An immutable snapshot of the FK graph (anything shaped like ``Dependencies``)."""

    def __init__(self, tables: Mapping[str, TableInfo], parents_of: Mapping[str, list[ForeignKey]],
                 names: list[str]):
        self.tables = dict(tables)
        self.names = list(names)
        self.parents_of = {n: list(parents_of.get(n, ())) for n in self.tables}
        self.children_of: dict[str, list[ForeignKey]] = {n: [] for n in self.tables}
        for fks in self.parents_of.values():
            for fk in fks:
                if fk.parent in self.children_of:
                    self.children_of[fk.parent].append(fk)
        self.master_of = {n: naming.master_of_full_name(n) for n in self.tables}
        self.parts_of: dict[str, list[str]] = {n: [] for n in self.tables}
        for name, master in self.master_of.items():
            if master in self.parts_of:
                self.parts_of[master].append(name)

    @classmethod
    def of(cls, dependencies: Any) -> _Graph:
        return cls(dependencies.tables, dependencies.parents_of, dependencies.names)

    def with_parts(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` plus the parts of the masters among them."""
        found = {n for n in names if n in self.tables}
        return frozenset(found | {p for n in found for p in self.parts_of[n]})

    def neighbours(self, names: frozenset[str], upstream: bool) -> frozenset[str]:
        if upstream:
            return frozenset(fk.parent for n in names for fk in self.parents_of[n])
        return frozenset(fk.child for n in names for fk in self.children_of[n])


# -- the expression -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Select:
    schemas: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Exact:
    """Exactly these tables (no master or parts added): a cascade's or trace's tables."""

    tables: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _WithParts:
    """``base`` and the parts of its masters (``add_parts()``)."""

    base: Any


@dataclass(frozen=True)
class _Combine:
    op: str  # "+", "-" or "*"
    left: Any
    right: Any


@dataclass(frozen=True)
class _Expand:
    base: Any
    generations: int
    upstream: bool


def _evaluate(expr: Any, graph: _Graph) -> frozenset[str]:
    if isinstance(expr, _Exact):
        return frozenset(n for n in expr.tables if n in graph.tables)
    if isinstance(expr, _Select):
        chosen = {n for n in graph.tables if n.partition(".")[0] in expr.schemas}
        return frozenset(n for n in chosen | set(expr.tables) if n in graph.tables)
    if isinstance(expr, _WithParts):
        return graph.with_parts(_evaluate(expr.base, graph))
    if isinstance(expr, _Combine):
        left, right = _evaluate(expr.left, graph), _evaluate(expr.right, graph)
        result = {"+": left | right, "-": left - right, "*": left & right}[expr.op]
        return frozenset(result)
    nodes = _evaluate(expr.base, graph)
    for _ in range(expr.generations):
        grown = nodes | graph.neighbours(nodes, expr.upstream)
        if grown == nodes:
            break
        nodes = grown
    return nodes


# -- the user API ---------------------------------------------------------------------------


class Diagram:
    """The tables of a schema or around a table, with their foreign keys.

    ``dj.Diagram(schema)``, ``dj.Diagram(Session) + 1``, ``dj.Diagram(a) * dj.Diagram(b)``.
    Render with :meth:`make_mermaid`, :meth:`make_dot`, :meth:`save`; in a notebook a
    diagram displays itself as an interactive widget.
    """

    def __init__(self, source: Any, context: Mapping[str, Any] | None = None, *,
                 direction: str | None = None):
        if isinstance(source, Diagram):
            self._connection, self._graph, self._expr = (
                source._connection, source._graph, source._expr)
            self._folded, self._restrictions = source._folded, source._restrictions
            self._counts, self.context = source._counts, context or source.context
            self._mode = source._mode
            self.direction = direction or source.direction
            return
        self.context = dict(context) if context is not None else None
        self._folded: Any = _Select()
        self._restrictions: dict[str, Any] = {}  # table -> restricted query (cascade, trace)
        self._counts: dict[str, int] = {}
        self._mode: str | None = None  # "cascade", "trace" or "restrict"
        self._connection, self._expr = _source_expression(source)
        self._graph = _Graph.of(self._load_dependencies())
        self.direction = _direction(direction)
        missing = sorted(self._expr.tables - set(self._graph.tables))
        if missing:
            raise DataJointError(
                f"table {missing[0]} is not declared in the database; declare it with "
                "@schema before drawing it")

    @classmethod
    def from_dependencies(cls, dependencies: Any, tables: Iterable[str] = (),
                          schemas: Iterable[str] = (), direction: str | None = None) -> Diagram:
        """A diagram over a given graph (``Dependencies`` or alike), e.g. for tests."""
        diagram = cls.__new__(cls)
        diagram._connection = getattr(dependencies, "connection", None)
        diagram._graph = _Graph.of(dependencies)
        diagram._expr = _Select(frozenset(schemas), frozenset(tables))
        diagram.direction = _direction(direction)
        diagram.context, diagram._folded = None, _Select()
        diagram._restrictions, diagram._counts, diagram._mode = {}, {}, None
        return diagram

    @classmethod
    def from_sequence(cls, sources: Iterable[Any]) -> Diagram:
        """The union of the diagrams of several sources."""
        diagrams = [cls(s) for s in sources]
        if not diagrams:
            raise DataJointError("Diagram.from_sequence needs at least one table or schema")
        result = diagrams[0]
        for other in diagrams[1:]:
            result = result + other
        return result

    @property
    def connection(self) -> Any:
        """The connection the graph is read from (None for a diagram without one)."""
        return self._connection

    def _load_dependencies(self) -> Any:
        if self._connection is None:
            raise DataJointError("this diagram has no connection to reload its graph from")
        return catalog_of(self._connection).dependencies

    def refresh(self) -> Diagram:
        """Re-read the dependency graph from the database (after a declare or drop)."""
        if self._connection is not None:
            catalog_of(self._connection).changed()
            self._graph = _Graph.of(self._load_dependencies())
        return self

    # -- algebra ------------------------------------------------------------------------
    def _derive(self, expr: Any) -> Diagram:
        result = Diagram(self)
        result._expr = expr
        return result

    def _operand(self, other: Any) -> Any:
        other = other if isinstance(other, Diagram) else Diagram(other)
        if other._connection is not self._connection:
            raise DataJointError("cannot combine diagrams of different connections")
        return other._expr

    def __add__(self, other: Any) -> Diagram:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._grow(other, upstream=False)
        other = other if isinstance(other, Diagram) else Diagram(other)
        result = self._derive(_Combine("+", self._expr, self._operand(other)))
        # folded in either and expanded in neither: an expanded table wins
        expanded = _Combine("+", _Combine("-", self._expr, self._folded),
                            _Combine("-", other._expr, other._folded))
        result._folded = _Combine("-", _Combine("+", self._folded, other._folded), expanded)
        return result

    def __sub__(self, other: Any) -> Diagram:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._grow(other, upstream=True)
        return self._derive(_Combine("-", self._expr, self._operand(other)))

    def __mul__(self, other: Any) -> Diagram:
        return self._derive(_Combine("*", self._expr, self._operand(other)))

    def _grow(self, generations: int, upstream: bool) -> Diagram:
        if generations < 0:
            generations, upstream = -generations, not upstream
        return self._derive(_Expand(self._expr, generations, upstream))

    # -- contents -----------------------------------------------------------------------
    @property
    def node_names(self) -> list[str]:
        """Full names of the shown tables, parents before children."""
        shown = _evaluate(self._expr, self._graph)
        return [n for n in self._graph.names if n in shown]

    @property
    def nodes_to_show(self) -> set[str]:
        """The shown tables' ``full_table_name``s (quoted as the backend quotes them), as
        DataJoint's ``Diagram.nodes_to_show``."""
        connection = self._require_connection()
        return {FreeTable(connection, name).full_table_name for name in self.node_names}

    def __len__(self) -> int:
        return len(self.node_names)

    def __contains__(self, item: Any) -> bool:
        name = _unquoted(item) if isinstance(item, str) else _full_name(item)
        return name in self.node_names

    @property
    def nodes(self) -> list[DiagramNode]:
        folded = _evaluate(self._folded, self._graph)
        return [self._node(n, folded) for n in self.node_names]

    def _context_names(self) -> dict[str, str]:
        """Full table name -> the name ``context`` knows its class by (``module.Class`` for
        a class of a module in it), as DataJoint labels nodes."""
        if not self.context:
            return {}
        found: dict[str, str] = {}
        for name, value in self.context.items():
            if isinstance(value, ModuleType):
                for attr, member in vars(value).items():
                    _remember_table(found, member, f"{name}.{attr}")
            else:
                _remember_table(found, value, name)
        return found

    @property
    def edges(self) -> list[DiagramEdge]:
        shown = set(self.node_names)
        return [_edge(fk, self._graph.tables[fk.child])
                for child in self.node_names for fk in self._graph.parents_of[child]
                if fk.parent in shown]

    def _node(self, name: str, folded: frozenset[str] = frozenset()) -> DiagramNode:
        info = self._graph.tables[name]
        master = self._graph.master_of[name]
        class_name = naming.class_name_of(info.name)
        if master:
            class_name = f"{naming.class_name_of(master.partition('.')[2])}.{class_name}"
        class_name = self._context_names().get(name, class_name)
        inherited = {attr for fk in info.foreign_keys for attr in fk.child_attributes}
        return DiagramNode(
            name=name, schema=info.schema, table=info.name, tier=naming.tier_of(info.name),
            class_name=class_name, master=master,
            new_dimension=any(a not in inherited for a in info.heading.primary_key),
            definition=_definition_text(info), folded=name in folded,
            rows=self._counts.get(name))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready model: ``{"direction", "nodes": [...], "edges": [...]}``."""
        edges = []
        for edge in self.edges:
            record = asdict(edge)
            record["attr_map"] = [list(pair) for pair in edge.attr_map]
            edges.append(record)
        return {"direction": self.direction, "nodes": [asdict(n) for n in self.nodes],
                "edges": edges}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    # -- DataJoint 2.x: folding, cascades, traces ------------------------------------------
    def collapse(self) -> Diagram:
        """This diagram with every table folded into one node per schema; in ``a + b`` a
        table expanded in either operand stays expanded (``dj.Diagram(s).collapse() +
        dj.Diagram(Table)`` shows ``Table`` inside its folded schema's company)."""
        result = self._derive(self._expr)
        result._folded = self._expr
        return result

    def add_parts(self) -> Diagram:
        """This diagram with the part tables of every master it shows."""
        return self._derive(_WithParts(self._expr))

    @classmethod
    def cascade(cls, table_expr: Any, part_integrity: str = "enforce") -> Diagram:
        """What ``table_expr.delete()`` would remove: the table and every affected
        descendant (across schemas), each restricted and counted (:meth:`counts`); nothing
        is deleted. ``part_integrity`` as for ``delete``."""
        queries, counts = cascade_restrictions(table_expr, part_integrity)
        return cls._restricted(table_expr, queries, counts, "cascade")

    @classmethod
    def trace(cls, table_expr: Any) -> Diagram:
        """Where ``table_expr``'s rows come from: the table and its ancestors, each restricted
        to the rows referenced from the seed's (``diagram[Session]`` gives one; :meth:`counts`
        counts them)."""
        seed = as_query(table_expr)
        graph = _Graph.of(catalog_of(seed.connection).dependencies)
        queries = trace_restrictions(seed, graph)
        counts = {name: len(query) for name, query in queries.items()}
        return cls._restricted(seed, queries, counts, "trace", graph)

    @classmethod
    def _restricted(cls, source: Any, queries: dict[str, Any], counts: dict[str, int],
                    mode: str, graph: _Graph | None = None) -> Diagram:
        seed = as_query(source)
        diagram = cls.__new__(cls)
        diagram._connection = seed.connection
        diagram._graph = graph or _Graph.of(catalog_of(seed.connection).dependencies)
        diagram._expr = _Exact(frozenset(queries))
        diagram.direction = _direction(None)
        diagram.context, diagram._folded = None, _Select()
        diagram._restrictions, diagram._counts, diagram._mode = queries, counts, mode
        return diagram

    def restrict(self, table_expr: Any) -> Diagram:
        """This diagram with ``table_expr``'s restriction propagated downstream, AND-ed where
        paths meet (the rows an export of those entries takes); can be chained."""
        if self._mode == "cascade":
            raise DataJointError("restrict() does not apply to a cascade diagram (a cascade "
                                 "ORs its paths); restrict the plain diagram instead")
        name = _full_name(as_query(table_expr))
        if name not in self.node_names:
            raise DataJointError(f"table {name} is not in this diagram")
        result = self._derive(self._expr)
        result._restrictions = restrict_downstream(table_expr, self._graph, self._restrictions)
        result._counts, result._mode = {}, "restrict"
        return result

    def counts(self) -> dict[str, int]:
        """Rows per restricted table of a :meth:`cascade`, :meth:`trace` or :meth:`restrict`
        diagram, counted now, keyed by ``full_table_name`` (quoted, as in DataJoint)."""
        if not self._restrictions:
            raise DataJointError("counts() needs restrictions: make the diagram with "
                                 "Diagram.cascade(table_expr), Diagram.trace(table_expr) or "
                                 "diagram.restrict(table_expr)")
        connection = self._require_connection()
        return {FreeTable(connection, name).full_table_name: len(self._restrictions[name])
                for name in self.node_names if name in self._restrictions}

    def __iter__(self) -> Iterator[Any]:
        """The shown tables, parents first, as ``FreeTable``s (restricted in a cascade or
        trace diagram)."""
        return (self[name] for name in self.node_names)

    def __reversed__(self) -> Iterator[Any]:
        return (self[name] for name in reversed(self.node_names))

    def __getitem__(self, table: Any) -> Any:
        """A shown table by class, instance or name (``schema.table`` or its quoted
        ``full_table_name``), as a ``FreeTable`` restricted as this diagram restricts it. A
        trace holds only the seed and its ancestors (not the parts of an ancestor master)."""
        name = _unquoted(table) if isinstance(table, str) else _full_name(table)
        if self._mode == "trace" and name not in self._restrictions:
            raise DataJointError(f"table {name} is not in this trace's subgraph (not the seed "
                                 "or an ancestor of it)")
        if name not in self.node_names:
            raise DataJointError(f"table {name} is not in this diagram")
        table = FreeTable(self._require_connection(), name)
        return table.rows_of(self._restrictions[name]) if name in self._restrictions else table

    def prune(self) -> Diagram:
        """This diagram without its tables that have no rows (no restricted rows in a
        :meth:`trace`; of a :meth:`restrict` diagram only restricted tables are checked). A
        cascade keeps every table: rows may arrive before the delete."""
        if self._mode == "cascade":
            raise DataJointError("prune() cannot be used on a cascade diagram: it keeps a "
                                 "cascade whole, as a delete must still see every descendant; "
                                 "prune the plain diagram instead")
        checked = [n for n in self.node_names
                   if self._mode != "restrict" or n in self._restrictions]
        empty = frozenset(n for n in checked if not self[n])
        return self._derive(_Combine("-", self._expr, _Exact(empty)))

    def _require_connection(self) -> Any:
        if self._connection is None:
            raise DataJointError("this diagram has no connection to read tables from")
        return self._connection

    # -- rendering ----------------------------------------------------------------------
    def make_mermaid(self) -> str:
        """Mermaid flowchart text (needs nothing installed)."""
        from .render import mermaid

        return mermaid(self)

    def make_dot(self, theme: str | None = None) -> Any:
        """A ``pydot.Dot`` (needs pydot and Graphviz's ``dot`` program); ``theme`` is
        ``light``, ``dark`` or ``auto`` (default: ``display.diagram_theme``)."""
        from .render import dot

        return dot(self, theme)

    def svg_string(self, theme: str | None = None) -> str:
        """The SVG through Graphviz; the ``auto`` theme follows the viewer's dark mode."""
        from .render import svg

        return svg(self, theme)

    def make_png(self, theme: str | None = None) -> bytes:
        from .render import render

        return render(self, "png", theme)

    def save(self, filename: str | Path, format: str | None = None) -> None:
        """Write ``.mmd``/``.mermaid`` (Mermaid), ``.svg`` or ``.png`` (Graphviz)."""
        path = Path(filename)
        kind = (format or path.suffix.lstrip(".")).lower()
        if kind in ("mmd", "mermaid"):
            path.write_text(self.make_mermaid())
        elif kind == "svg":
            path.write_text(self.svg_string())
        elif kind == "png":
            path.write_bytes(self.make_png())
        else:
            raise DataJointError(
                f"cannot save a diagram as {kind!r}: use a .mmd, .mermaid, .svg or .png file")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        from .bundle import diagram_mimebundle

        return diagram_mimebundle(self, include, exclude)

    def __repr__(self) -> str:
        names = ", ".join(n.class_name for n in self.nodes)
        return f"Diagram({len(self)} tables: {names})"


# -- helpers --------------------------------------------------------------------------------


def _source_expression(source: Any) -> tuple[Connection | None, _Select]:
    from ...pipeline.schema import Schema
    from ...tables.table import Table

    if not isinstance(source, Schema) and isinstance(getattr(source, "schema", None), Schema):
        source = source.schema  # a module (or VirtualModule) with a .schema
    if isinstance(source, Schema):
        return source.connection, _Select(schemas=frozenset([source._require_active()]))
    table = getattr(source, "table", None) if not _is_table(source) else source
    if isinstance(table, type) and issubclass(table, Table):
        table = table()
    if isinstance(table, Table):
        return table.connection, _Select(tables=frozenset([table.full_name]))
    raise DataJointError(
        f"cannot draw a diagram of {type(source).__name__}: pass a schema, a table class or "
        "instance, or a restriction of a table")


def _is_table(source: Any) -> bool:
    from ...tables.table import Table

    return isinstance(source, Table) or (isinstance(source, type) and issubclass(source, Table))


def _full_name(item: Any) -> str:
    item = item() if isinstance(item, type) else item
    return getattr(item, "table", item).full_name


def _unquoted(name: str) -> str:
    """``schema.table`` from itself or from a quoted ``full_table_name``."""
    return name.replace("`", "").replace('"', "")


def _remember_table(found: dict[str, str], value: Any, name: str) -> None:
    """Note ``value``'s full table name under ``name`` if it is a declared table class."""
    if not _is_table(value) or not isinstance(value, type):
        return
    try:
        found.setdefault(value().full_name, name)
    except DataJointError:  # an undecorated or abstract class
        return


def _direction(direction: str | None) -> str:
    from dj_jupyter.settings import config

    value = (direction or config["display.diagram_direction"]).upper()
    if value not in ("LR", "TB"):
        raise DataJointError(f"diagram direction {direction!r}: use 'LR' or 'TB'")
    return value


def _edge(fk: ForeignKey, child: TableInfo) -> DiagramEdge:
    key = set(child.heading.primary_key)
    attrs = set(fk.child_attributes)
    return DiagramEdge(parent=fk.parent, child=fk.child, attr_map=tuple(fk.attr_map),
                       primary=attrs <= key, one_to_one=attrs == key, renamed=fk.renamed,
                       nullable=fk.nullable)


def _definition_text(info: TableInfo) -> str:
    """The table's definition as ``describe()`` writes it."""
    from ...catalog.describe import stored_definition
    from ...definition.render import render_definition

    shim = SimpleNamespace(info=info, database=info.schema)
    try:
        text = render_definition(stored_definition(shim)).rstrip()
        return text[:-4].rstrip() if text.endswith("\n---") or text == "---" else text
    except (DataJointError, KeyError, ValueError):  # still show the attributes
        return repr(info.heading)
