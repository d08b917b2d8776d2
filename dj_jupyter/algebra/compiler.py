"""The only place query nodes become SQL: SQLAlchemy Core statements, every value bound.

A node is flattened into a :class:`Flat` — a FROM clause, the output columns
by name, WHERE terms, and optionally GROUP BY / DISTINCT / ORDER BY / LIMIT.
Restrictions, renames and joins stay in one SELECT; a Flat that is grouped,
distinct or limited is *closed*, and whatever comes on top of it wraps it as a
subquery first. Semijoins are correlated ``EXISTS`` subqueries (NULL-safe
under negation). Tables get deterministic aliases (``t1``, ``t2`` …) so that
user SQL fragments can be rendered against known column names.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from ..errors import DataTypeError, RestrictionError
from ..objects.codecs import storage_spec
from . import conditions as c
from .fragments import parse_fragment, render_fragment
from .nodes import (
    Aggregate,
    Distinct,
    Join,
    Node,
    Project,
    Restrict,
    TableNode,
    Top,
    Union,
    base_table,
)
from .values import BadValue, value_check

if TYPE_CHECKING:
    from ..backends.dialect import Dialect

__all__ = ["Flat", "Compiler", "compile_select", "compile_count", "compile_delete",
           "compile_exists", "compile_update", "table_clause"]


@dataclass
class Flat:
    source: sa.FromClause
    columns: dict[str, sa.ColumnElement]
    where: list[sa.ColumnElement] = field(default_factory=list)
    group_by: list[sa.ColumnElement] | None = None
    distinct: bool = False
    order_by: list[sa.ColumnElement] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    @property
    def closed(self) -> bool:
        """Whether adding a WHERE or a JOIN would change what the rows mean."""
        return (self.group_by is not None or self.distinct or self.limit is not None
                or bool(self.offset) or bool(self.order_by))

    def select(self, names: list[str] | None = None,
               read: Callable[[str, sa.ColumnElement], sa.ColumnElement] | None = None,
               ) -> sa.Select:
        """The SELECT of ``names``; ``read`` may replace a column by what the driver reads."""
        names = list(self.columns) if names is None else names
        columns = [self.columns[n] if read is None else read(n, self.columns[n]) for n in names]
        statement = sa.select(*[_labelled(c, n) for c, n in zip(columns, names)]) \
            .select_from(self.source).where(*self.where)
        if self.group_by is not None:
            statement = statement.group_by(*self.group_by)
        if self.distinct:
            statement = statement.distinct()
        if self.order_by:
            statement = statement.order_by(*self.order_by)
        if self.limit is not None:
            statement = statement.limit(self.limit)
        if self.offset:
            statement = statement.offset(self.offset)
        return statement


def _labelled(column: sa.ColumnElement, name: str) -> sa.ColumnElement:
    return column if getattr(column, "name", None) == name and not isinstance(
        column, sa.sql.elements.TextClause) else column.label(name)


def table_clause(dialect: Dialect, node: TableNode) -> sa.TableClause:
    sa_schema, address = dialect.table_address(node.info.schema, node.info.name)
    return sa.table(address, *[sa.column(n) for n in node.info.heading.names], schema=sa_schema)


class Compiler:
    """Flattens one node tree; one instance per statement (it numbers the aliases)."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self._numbers = itertools.count(1)

    def _alias(self) -> str:
        return f"t{next(self._numbers)}"

    # -- nodes ------------------------------------------------------------------------
    def flatten(self, node: Node) -> Flat:
        method = getattr(self, f"_flatten_{type(node).__name__.lower()}", None)
        if method is None:  # pragma: no cover - every node type has a rule
            raise TypeError(f"cannot compile {type(node).__name__}")
        return method(node)

    def open(self, flat: Flat) -> Flat:
        """``flat`` itself, or wrapped as a subquery when it is closed."""
        return self.wrap(flat) if flat.closed else flat

    def wrap(self, flat: Flat) -> Flat:
        sub = flat.select().subquery(self._alias())
        return Flat(sub, {n: sub.c[n] for n in flat.columns})

    def _flatten_tablenode(self, node: TableNode) -> Flat:
        table = table_clause(self.dialect, node).alias(self._alias())
        return Flat(table, {n: table.c[n] for n in node.info.heading.names})

    def _flatten_restrict(self, node: Restrict) -> Flat:
        flat = self.open(self.flatten(node.source))
        term = self.condition(node.condition, flat, node.source.heading)
        if term is not None:
            flat.where.append(term)
        return flat

    def _flatten_project(self, node: Project) -> Flat:
        flat = self.open(self.flatten(node.source))
        columns = {n: flat.columns[n] for n in node.keep}
        for new, old in node.renames:
            columns[new] = flat.columns[old]
        for name, text in node.computed:
            columns[name] = self.fragment(text, flat.columns, allow_aggregate=False)
        return replace(flat, columns={n: columns[n] for n in node.heading.names})

    def _flatten_join(self, node: Join) -> Flat:
        left = self.open(self.flatten(node.left))
        right = self.flatten(node.right)
        if right.closed or (node.left_outer and right.where):
            right = self.wrap(right)
        links = [left.columns[n] == right.columns[n] for n in node.common]
        onclause = sa.and_(*links) if links else sa.true()
        source = left.source.join(right.source, onclause, isouter=node.left_outer)
        columns = {n: left.columns[n] if n in left.columns else right.columns[n]
                   for n in node.heading.names}
        return Flat(source, columns, left.where + right.where)

    def _flatten_aggregate(self, node: Aggregate) -> Flat:
        source = self.open(self.flatten(node.source))
        if node.group is None:
            by = {n: source.columns[n] for n in node.by}
            computed = {n: self.fragment(t, source.columns) for n, t in node.computed}
            return Flat(source.source, {**by, **computed}, source.where, group_by=list(by.values()))
        group = self.open(self.flatten(node.group))
        common = [n for n in group.columns if n in source.columns]
        links = [group.columns[n] == source.columns[n] for n in common]
        # keeping every group row: the source's own restriction belongs in the ON clause
        on = [*links, *source.where] if node.keep_all else links
        joined = group.source.join(source.source, sa.and_(*on) if on else sa.true(),
                                   isouter=node.keep_all)
        kept = {n: group.columns[n] for n in node.heading.names if n in group.columns
                and n not in dict(node.computed)}
        scope = {**group.columns, **source.columns}  # the source's columns count (NULL if none)
        computed = {n: self.fragment(t, scope) for n, t in node.computed}
        where = group.where + ([] if node.keep_all else source.where)
        return Flat(joined, {**kept, **computed}, where, group_by=list(kept.values()))

    def _flatten_union(self, node: Union) -> Flat:
        left, right = node.left.heading, node.right.heading
        key = left.primary_key
        a = self.open(self.flatten(node.left))
        b = self.open(self.flatten(node.right))
        if not left.secondary_attributes and not right.secondary_attributes:
            union = sa.union(a.select(key), b.select(key))
        else:
            b_for_join = self.wrap(b)
            links = [a.columns[n] == b_for_join.columns[n] for n in key]
            first = sa.select(
                *[_labelled(a.columns[n], n) for n in key],
                *[_labelled(a.columns[n], n) for n in left.secondary_attributes],
                *[_labelled(b_for_join.columns[n], n) for n in right.secondary_attributes],
            ).select_from(a.source.join(b_for_join.source, sa.and_(*links), isouter=True)) \
                .where(*a.where)
            others = self.open(self.flatten(node.left))
            missing = sa.select(sa.literal_column("1")).select_from(others.source).where(
                *others.where, *[others.columns[n] == b.columns[n] for n in key])
            second = sa.select(
                *[_labelled(b.columns[n], n) for n in key],
                *[sa.null().label(n) for n in left.secondary_attributes],
                *[_labelled(b.columns[n], n) for n in right.secondary_attributes],
            ).select_from(b.source).where(*b.where, ~sa.exists(missing))
            union = sa.union_all(first, second)
        sub = union.subquery(self._alias())
        return Flat(sub, {n: sub.c[n] for n in node.heading.names})

    def _flatten_distinct(self, node: Distinct) -> Flat:
        flat = self.open(self.flatten(node.source))
        return Flat(flat.source, {n: flat.columns[n] for n in node.attributes}, flat.where,
                    distinct=True)

    def _flatten_top(self, node: Top) -> Flat:
        flat = self.open(self.flatten(node.source))
        flat.order_by = self.order_clauses(flat, node.source.heading, node.order_by)
        flat.limit = node.limit
        flat.offset = node.offset
        return flat

    # -- conditions and SQL fragments -----------------------------------------------------
    def condition(self, condition: c.Condition, flat: Flat, heading) -> sa.ColumnElement | None:
        if isinstance(condition, c.Constant):
            return None if condition.value else sa.false()
        if isinstance(condition, c.Equals):
            attribute = heading[condition.attribute]
            return flat.columns[condition.attribute] == sa.bindparam(
                None, bind_value(self.dialect, attribute, condition.value), unique=True,
                type_=sa.types.NULLTYPE)
        if isinstance(condition, c.IsNull):
            return flat.columns[condition.attribute].is_(None)
        if isinstance(condition, (c.And, c.Or)):
            terms = [self.condition(i, flat, heading) for i in condition.items]
            terms = [sa.true() if t is None else t for t in terms]
            return balanced(sa.and_ if isinstance(condition, c.And) else sa.or_, terms)
        if isinstance(condition, c.Negation):
            term = self.condition(condition.item, flat, heading)
            return sa.false() if term is None else sa.not_(term)
        if isinstance(condition, c.KeyAfter):
            columns = [flat.columns[a] for a in condition.attributes]
            values = [sa.bindparam(None, bind_value(self.dialect, heading[a], v), unique=True,
                                   type_=sa.types.NULLTYPE)
                      for a, v in zip(condition.attributes, condition.values)]
            if len(columns) > 1 and not self.dialect.row_value_seeks:
                return _key_after_expanded(columns, values, condition.descending,
                                          condition.inclusive)
            left, right = ((columns[0], values[0]) if len(columns) == 1 else
                           (sa.tuple_(*columns), sa.tuple_(*values)))
            return _compare_after(left, right, condition.descending, condition.inclusive)
        if isinstance(condition, c.SqlText):
            return self.fragment(condition.text, flat.columns, allow_aggregate=False)
        if isinstance(condition, c.Exists):
            inner = self.open(self.flatten(condition.relation))
            links = [inner.columns[a] == flat.columns[a] for a in condition.attributes]
            sub = sa.select(sa.literal_column("1")).select_from(inner.source) \
                .where(*inner.where, *links)
            return sa.exists(sub)
        raise RestrictionError(f"unknown condition {condition!r}")  # pragma: no cover

    def fragment(self, text: str, columns: dict[str, sa.ColumnElement], *,
                 allow_aggregate: bool = True) -> sa.ColumnElement:
        """User SQL (MySQL flavour) rendered for this backend against ``columns``."""
        fragment = parse_fragment(text)
        known = {n.lower() for n in columns} | set(columns)
        unknown = sorted(n for n in fragment.columns if n not in known)
        if unknown:
            raise RestrictionError(
                f"{text!r} names {', '.join(unknown)}, which the query does not have; its "
                f"attributes are {', '.join(columns)}")
        if fragment.is_aggregate and not allow_aggregate:
            raise RestrictionError(
                f"{text!r} aggregates rows; compute it with .aggr(...) (or dj.U().aggr(...)) "
                "and restrict the result")
        sa_dialect = self.dialect.sa_dialect
        rendered = {n: str(col.compile(dialect=sa_dialect)) for n, col in columns.items()
                    if n.lower() in fragment.columns or n in fragment.columns}
        return sa.literal_column("(" + render_fragment(fragment, self.dialect.name, rendered) + ")")

    def order_clauses(self, flat: Flat, heading, order_by: Any) -> list[sa.ColumnElement]:
        if order_by is None:
            return []
        items = [order_by] if isinstance(order_by, str) else list(order_by)
        items = [part for item in items for part in item.split(",")]  # "a, b DESC" as DataJoint
        clauses = []
        for item in items:
            name, _, direction = item.strip().partition(" ")
            direction = direction.strip().upper()
            if direction not in ("", "ASC", "DESC"):
                raise RestrictionError(f"order_by {item!r}: write 'attribute' or 'attribute DESC'")
            for n in (heading.primary_key if name == "KEY" else [name]):
                if n not in flat.columns:
                    raise RestrictionError(
                        f"order_by names {n!r}, which is not an attribute of the result "
                        f"({', '.join(heading.names)})")
                column = flat.columns[n]
                clauses.append(column.desc() if direction == "DESC" else column.asc())
        return clauses


GROUP = 64  # terms per AND/OR group: SQLite refuses expression trees deeper than 1,000


def _compare_after(left: Any, right: Any, descending: bool, inclusive: bool) -> Any:
    """``left`` after ``right`` in the order: >, >=, < or <=."""
    if descending:
        return left <= right if inclusive else left < right
    return left >= right if inclusive else left > right


def _key_after_expanded(columns: list, values: list, descending: bool,
                       inclusive: bool) -> sa.ColumnElement:
    """``(c1, c2, ...) > (v1, v2, ...)`` written as ``c1 >= v1 AND (c1 > v1 OR (c2, ...) >
    (v2, ...))``: the same rows, in a form a planner without row-value ranges seeks by."""
    if len(columns) == 1:
        return _compare_after(columns[0], values[0], descending, inclusive)
    rest = _key_after_expanded(columns[1:], values[1:], descending, inclusive)
    return sa.and_(_compare_after(columns[0], values[0], descending, True),
                   sa.or_(_compare_after(columns[0], values[0], descending, False), rest))


def balanced(combine: Callable[..., sa.ColumnElement], terms: list) -> sa.ColumnElement:
    """``a OR b OR ...`` as a tree of parenthesised groups of at most GROUP terms.

    SQLite parses a flat chain of n ORs into a tree n deep; grouping keeps the depth
    logarithmic, so a restriction by a list of thousands of dicts runs on every backend.
    """
    while len(terms) > GROUP:
        terms = [_Parenthesised(combine(*terms[i:i + GROUP]))
                 for i in range(0, len(terms), GROUP)]
    return combine(*terms)


class _Parenthesised(sa.sql.expression.ColumnElement):
    """A boolean term kept in parentheses (SQLAlchemy flattens nested AND/OR otherwise)."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]
    type = sa.Boolean()

    def __init__(self, inner: sa.ColumnElement):
        self.inner = inner

    def get_children(self, **kwargs: Any) -> tuple:
        return (self.inner,)


@compiles(_Parenthesised)
def _compile_parenthesised(element: _Parenthesised, compiler, **kwargs: Any) -> str:
    return "(" + compiler.process(element.inner, **kwargs) + ")"


def bind_value(dialect: Dialect, attribute, value: Any) -> Any:
    """A restriction value checked against its attribute and converted for the driver."""
    return value_binder(dialect, attribute)(value)


def value_binder(dialect: Dialect, attribute) -> Callable[[Any], Any]:
    """``bind_value`` for one attribute, worked out once (populate binds every key)."""
    spec = attribute.type
    if spec.name == "computed":
        return _as_is
    check, bind = (value_check(spec), dialect.binder(storage_spec(spec))) if spec.is_codec \
        else _checker(dialect, spec)

    def checked_and_bound(value: Any) -> Any:
        try:
            checked = check(value)
        except BadValue as problem:
            raise DataTypeError(
                f"restriction on {attribute.name!r} ({spec.text}): {problem}") from None
        return checked if bind is None else bind(checked)

    return checked_and_bound


def _as_is(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=512)
def _checker(dialect: Dialect, spec) -> tuple:
    """(value check, driver binder) of a native type, made once per dialect and type."""
    return value_check(spec), dialect.binder(spec)


def compile_select(node: Node, dialect: Dialect, *, names: list[str] | None = None,
                   order_by: Any = None, limit: int | None = None,
                   offset: int | None = None) -> sa.Select:
    compiler = Compiler(dialect)
    flat = compiler.flatten(node)
    if order_by is None and isinstance(node, Top) and node.order_by:
        order_by = node.order_by  # a page of a dj.Top keeps its order (limit=5 of "x DESC")
    if order_by is not None or limit is not None or offset:
        flat = compiler.open(flat)
        flat.order_by = compiler.order_clauses(flat, node.heading, order_by)
        flat.limit = limit if limit is not None else (2**62 if offset else None)
        flat.offset = offset or 0
    heading = node.heading

    def read(name: str, column: sa.ColumnElement) -> sa.ColumnElement:
        spec = heading[name].type if name in heading else None
        return column if spec is None or spec.name == "computed" else dialect.read_column(
            column, spec)

    return flat.select(names, read)


def compile_count(node: Node, dialect: Dialect, at_most: int | None = None) -> sa.Select:
    """``count(*)`` of the node's rows; with ``at_most``, of its first ``at_most`` rows only
    (a bounded count: it reads at most that many index entries, however large the table)."""
    compiler = Compiler(dialect)
    flat = compiler.open(compiler.flatten(node))  # DISTINCT must not meet an ORDER BY/LIMIT
    key = node.heading.primary_key or node.heading.names
    if base_table(node) is not None:  # a stored table's rows are distinct by their key:
        if at_most is None:  # count(*) of the table itself, answered from its smallest index
            return sa.select(sa.func.count()).select_from(flat.source).where(*flat.where)
        rows = flat.select(key)
    else:
        rows = flat.select(key).distinct()
    if at_most is not None:
        rows = rows.limit(at_most)
    return sa.select(sa.func.count()).select_from(rows.subquery("counted"))


def compile_exists(node: Node, dialect: Dialect) -> sa.Select:
    compiler = Compiler(dialect)
    flat = compiler.open(compiler.flatten(node))  # LIMIT 1 must not replace a Top's limit
    return sa.select(sa.exists(flat.select().limit(1)))


def _target(node: Node, dialect: Dialect) -> tuple[Compiler, Flat]:
    """The stored table (unaliased, as DELETE/UPDATE need it) with the node's restrictions."""
    table_node = base_table(node)
    if table_node is None:
        raise RestrictionError("only a table or a restriction of a table can be changed")
    compiler = Compiler(dialect)
    table = table_clause(dialect, table_node)
    flat = Flat(table, {n: table.c[n] for n in table_node.info.heading.names})
    chain = []
    while isinstance(node, Restrict):
        chain.append(node)
        node = node.source
    for restriction in reversed(chain):
        term = compiler.condition(restriction.condition, flat, restriction.source.heading)
        if term is not None:
            flat.where.append(term)
    return compiler, flat


def compile_delete(node: Node, dialect: Dialect) -> sa.Delete:
    _, flat = _target(node, dialect)
    return sa.delete(flat.source).where(*flat.where)


def compile_update(node: Node, dialect: Dialect, values: dict[str, Any]) -> sa.Update:
    _, flat = _target(node, dialect)
    return sa.update(flat.source).where(*flat.where).values(
        {k: sa.bindparam(None, v, unique=True, type_=sa.types.NULLTYPE) for k, v in values.items()})
