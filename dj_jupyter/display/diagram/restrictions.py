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
from ...query.expression import QueryExpression
from ...tables.cascade import as_restriction, check_part_integrity, plan_delete
from ...tables.table import FreeTable, Table
from ...tables.upward import referenced_rows

__all__ = ["as_query", "cascade_restrictions", "restrict_downstream", "trace_restrictions"]


def as_query(source: Any) -> QueryExpression:
    """A table class, table or restriction of a table, as a query of one stored table."""
    if isinstance(source, type) and issubclass(source, Table):
        source = source()
    if isinstance(source, Table):
        return source
    if not isinstance(source, QueryExpression) or not hasattr(source, "table"):
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
    check_part_integrity(part_integrity)
    plan = plan_delete(as_query(source), part_integrity)
    return dict(plan.queries), dict(plan.counts)


def trace_restrictions(source: Any, graph: Any) -> dict[str, QueryExpression]:
    """The seed and each of its ancestors restricted to the rows the seed's rows reference
    (``graph``: the diagram's snapshot of the foreign-key graph), children before parents.
    A ``dj.Top`` seed starts from the rows it selects."""
    seed = as_query(source)
    name = _full_name(seed)
    if name not in graph.tables:
        raise DataJointError(f"table {name} is not declared in the database")
    return referenced_rows(name, as_restriction(seed), graph)


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
