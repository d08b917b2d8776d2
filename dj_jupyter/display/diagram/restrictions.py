"""Restrictions a diagram carries: what a delete would remove, and where rows came from.

``Diagram.cascade(expr)`` takes the delete plan (:func:`~dj_jupyter.tables.cascade.plan_delete`,
the same one ``delete`` shows and confirms), so the diagram of a delete and the delete itself
never disagree. ``Diagram.trace(expr)`` walks the other way: each ancestor restricted to the
rows the seed's rows reference, through every foreign key, OR-ed where paths meet.
``diagram.restrict(expr)`` (for an export) propagates downstream with AND where paths meet:
a row stays only if it descends from restricted rows of every restricted parent.
"""

from __future__ import annotations

from typing import Any

from ...errors import DataJointError
from ...query.expression import QueryExpression, U
from ...tables.cascade import plan_delete
from ...tables.table import FreeTable, Table

__all__ = ["as_query", "cascade_restrictions", "restrict_downstream", "trace_restrictions"]


def as_query(source: Any) -> QueryExpression:
    """A table class, table or restriction of a table, as a query of one stored table."""
    if isinstance(source, type) and issubclass(source, Table):
        source = source()
    if not isinstance(source, QueryExpression) or not hasattr(source, "table"):
        if isinstance(source, Table):
            return source
        raise DataJointError(
            f"cannot trace or cascade from {type(source).__name__}: pass a table or a "
            "restriction of one, e.g. Session & {'subject': 1}")
    return source


def _full_name(query: Any) -> str:
    """The full name of the table a (restricted) table query reads."""
    return getattr(query, "table", query).full_name


def cascade_restrictions(source: Any, part_integrity: str = "enforce"
                         ) -> tuple[dict[str, QueryExpression], dict[str, int]]:
    """Per table (parents first): the rows a delete of ``source`` would remove, and counts."""
    plan = plan_delete(as_query(source), part_integrity)
    return dict(plan.queries), dict(plan.counts)


def trace_restrictions(source: Any, graph: Any) -> dict[str, QueryExpression]:
    """The seed and each of its ancestors restricted to the rows the seed's rows reference
    (``graph``: the diagram's snapshot of the foreign-key graph), children before parents."""
    seed = as_query(source)
    name = _full_name(seed)
    if name not in graph.tables:
        raise DataJointError(f"table {name} is not declared in the database")
    connection = seed.connection
    referencing: dict[str, list[QueryExpression]] = {}
    restricted: dict[str, QueryExpression] = {name: seed}
    for table in reversed(graph.names):  # children before their parents
        query = restricted.get(table)
        if query is None and table in referencing:
            query = restricted[table] = FreeTable(connection, table).restrict(
                referencing.pop(table), semantic_check=False)
        if query is None:
            continue
        for fk in graph.parents_of.get(table, []):
            referencing.setdefault(fk.parent, []).append(_as_parent_rows(query, fk.attr_map))
    return restricted


def _as_parent_rows(query: QueryExpression, attr_map: tuple) -> QueryExpression:
    """The distinct foreign-key values of ``query``, named as the parent names them."""
    key = set(query.heading.primary_key)
    same = [child for child, parent in attr_map if child == parent and child not in key]
    renamed = {parent: child for child, parent in attr_map if child != parent}
    return U(*[parent for _, parent in attr_map]) & query.proj(*same, **renamed)


def restrict_downstream(source: Any, graph: Any,
                        restricted: dict[str, QueryExpression]) -> dict[str, QueryExpression]:
    """``restricted`` (table -> query) further restricted by ``source`` and, downstream of
    it, every table by each of its restricted parents (AND), parents first."""
    seed = as_query(source)
    name = _full_name(seed)
    if name not in graph.tables:
        raise DataJointError(f"table {name} is not declared in the database")
    connection = seed.connection
    result = dict(restricted)
    result[name] = result[name] & seed.proj() if name in result else seed
    changed = {name}
    for table in graph.names:  # parents before their children
        terms = [result[fk.parent].proj(**{c: p for c, p in fk.attr_map if c != p})
                 for fk in graph.parents_of.get(table, []) if fk.parent in changed]
        if not terms or table == name:
            continue
        query = result.get(table, FreeTable(connection, table))
        for term in terms:
            query = query.restrict(term, semantic_check=False)
        result[table] = query
        changed.add(table)
    return result
