"""The only place query nodes become SQL: SQLAlchemy Core statements, every value bound.

A node is flattened into a :class:`Flat` — a FROM clause, the output columns
by name, and WHERE terms — so restrictions and renames over one table stay a
single SELECT. Semijoins become correlated ``EXISTS`` subqueries, which are
NULL-safe under negation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...errors import DataTypeError, RestrictionError
from ..values import value_check
from . import conditions as c
from .nodes import Node, Project, Restrict, TableNode

if TYPE_CHECKING:
    from ..backends.dialects import Dialect

__all__ = ["Flat", "flatten", "compile_select", "compile_count", "compile_delete",
           "compile_exists", "table_clause"]


@dataclass
class Flat:
    source: sa.FromClause
    columns: dict[str, sa.ColumnElement]
    where: list[sa.ColumnElement] = field(default_factory=list)

    def select(self, names: list[str] | None = None) -> sa.Select:
        names = list(self.columns) if names is None else names
        return sa.select(*[_labelled(self.columns[n], n) for n in names]) \
            .select_from(self.source).where(*self.where)


def _labelled(column: sa.ColumnElement, name: str) -> sa.ColumnElement:
    return column if getattr(column, "name", None) == name else column.label(name)


def table_clause(dialect: Dialect, node: TableNode, *, alias: bool = False) -> sa.TableClause:
    sa_schema, address = dialect.table_address(node.info.schema, node.info.name)
    table = sa.table(address, *[sa.column(n) for n in node.info.heading.names], schema=sa_schema)
    return table.alias() if alias else table


def flatten(node: Node, dialect: Dialect, *, alias: bool = False) -> Flat:
    if isinstance(node, TableNode):
        table = table_clause(dialect, node, alias=alias)
        return Flat(table, {n: table.c[n] for n in node.info.heading.names})
    if isinstance(node, Restrict):
        flat = flatten(node.source, dialect, alias=alias)
        term = _condition(node.condition, flat, node.source.heading, dialect)
        if term is not None:
            flat.where.append(term)
        return flat
    if isinstance(node, Project):
        flat = flatten(node.source, dialect, alias=alias)
        columns = {n: flat.columns[n] for n in node.heading.names if n in node.keep}
        for new, old in node.renames:
            columns[new] = flat.columns[old]
        ordered = {n: columns[n] for n in node.heading.names}
        return Flat(flat.source, ordered, flat.where)
    raise TypeError(f"cannot compile {type(node).__name__}")  # pragma: no cover


def _condition(condition: c.Condition, flat: Flat, heading, dialect) -> sa.ColumnElement | None:
    if isinstance(condition, c.Constant):
        return None if condition.value else sa.false()
    if isinstance(condition, c.Equals):
        attribute = heading[condition.attribute]
        return flat.columns[condition.attribute] == sa.bindparam(
            None, bind_value(dialect, attribute, condition.value), unique=True,
            type_=sa.types.NULLTYPE)
    if isinstance(condition, c.IsNull):
        return flat.columns[condition.attribute].is_(None)
    if isinstance(condition, c.And):
        terms = [_condition(i, flat, heading, dialect) for i in condition.items]
        return sa.and_(*[t if t is not None else sa.true() for t in terms])
    if isinstance(condition, c.Or):
        terms = [_condition(i, flat, heading, dialect) for i in condition.items]
        return sa.or_(*[t if t is not None else sa.true() for t in terms])
    if isinstance(condition, c.Negation):
        term = _condition(condition.item, flat, heading, dialect)
        return sa.false() if term is None else sa.not_(term)
    if isinstance(condition, c.SqlText):
        return sa.text("(" + condition.text.replace(":", "\\:") + ")")
    if isinstance(condition, c.Exists):
        inner = flatten(condition.relation, dialect, alias=True)
        links = [inner.columns[a] == flat.columns[a] for a in condition.attributes]
        sub = sa.select(sa.literal(1)).select_from(inner.source).where(*inner.where, *links)
        return sa.exists(sub)
    raise RestrictionError(f"unknown condition {condition!r}")  # pragma: no cover


def bind_value(dialect: Dialect, attribute, value: Any) -> Any:
    """A restriction value checked against its attribute and converted for the driver."""
    from ..values import _Bad

    try:
        checked = value_check(attribute.type)(value)
    except _Bad as problem:
        raise DataTypeError(
            f"restriction on {attribute.name!r} ({attribute.type.text}): {problem}") from None
    bind = dialect.binder(attribute.type)
    return checked if bind is None else bind(checked)


def order_clauses(flat: Flat, heading, order_by: Any) -> list[sa.ColumnElement]:
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    clauses = []
    for item in items:
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip().upper()
        if direction not in ("", "ASC", "DESC"):
            raise RestrictionError(f"order_by {item!r}: write 'attribute' or 'attribute DESC'")
        names = heading.primary_key if name == "KEY" else [name]
        for n in names:
            if n not in flat.columns:
                raise RestrictionError(
                    f"order_by names {n!r}, which is not an attribute of the result "
                    f"({', '.join(heading.names)})")
            column = flat.columns[n]
            clauses.append(column.desc() if direction == "DESC" else column.asc())
    return clauses


def compile_select(node: Node, dialect: Dialect, *, names: list[str] | None = None,
                   order_by: Any = None, limit: int | None = None,
                   offset: int | None = None) -> sa.Select:
    flat = flatten(node, dialect)
    statement = flat.select(names).order_by(*order_clauses(flat, node.heading, order_by))
    if limit is not None:
        statement = statement.limit(limit)
    if offset:
        if limit is None:
            statement = statement.limit(2**62)
        statement = statement.offset(offset)
    return statement


def compile_count(node: Node, dialect: Dialect) -> sa.Select:
    flat = flatten(node, dialect)
    key = node.heading.primary_key or node.heading.names
    inner = flat.select(key).distinct().subquery()
    return sa.select(sa.func.count()).select_from(inner)


def compile_exists(node: Node, dialect: Dialect) -> sa.Select:
    flat = flatten(node, dialect)
    return sa.select(sa.exists(flat.select().limit(1)))


def compile_delete(node: Node, dialect: Dialect) -> sa.Delete:
    flat = flatten(node, dialect)
    if not isinstance(flat.source, sa.TableClause):  # pragma: no cover - guarded by callers
        raise RestrictionError("only restrictions of a stored table can be deleted from")
    return sa.delete(flat.source).where(*flat.where)


def compile_update(node: Node, dialect: Dialect, values: dict[str, Any]) -> sa.Update:
    flat = flatten(node, dialect)
    return sa.update(flat.source).where(*flat.where).values(
        {k: sa.bindparam(None, v, unique=True, type_=sa.types.NULLTYPE) for k, v in values.items()})
