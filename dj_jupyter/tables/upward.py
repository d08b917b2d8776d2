"""Walking foreign keys upward: the ancestor rows that some rows of a table reference.

Two users, one walk. ``Diagram.trace(expr)`` restricts every ancestor of ``expr``'s table to
the rows its rows reference; a cascading delete with ``part_integrity='cascade'`` lifts the
deleted rows of a part to the master rows they belong to, walking only inside the master's
group (the master and its parts), so a part that references another part of its master
(``-> Master.PartA``, renamed or not) still reaches the master. Each foreign key is followed
as it is declared (its attribute map reverses renames); where paths meet, the rows are OR-ed.
Nothing is read: the result is one restricted query per table.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..catalog.naming import master_of_full_name
from ..query.expression import QueryExpression, U

__all__ = ["referenced_rows", "master_rows"]


def referenced_rows(seed_name: str, seed: QueryExpression, graph: Any,
                    within: Collection[str] | None = None) -> dict[str, QueryExpression]:
    """``seed`` (rows of ``seed_name``) and each ancestor restricted to the rows the seed's
    rows reference, children before parents; ``within`` limits the walk to those tables.
    ``graph`` is anything shaped like ``Dependencies`` (``names`` parents first,
    ``parents_of``)."""
    referencing: dict[str, list[QueryExpression]] = {}
    restricted: dict[str, QueryExpression] = {seed_name: seed}
    for table in reversed(graph.names):  # children before their parents
        if within is not None and table not in within:
            continue
        query = restricted.get(table)
        if query is None and table in referencing:
            query = restricted[table] = _table_named(seed, table).restrict(
                referencing.pop(table), semantic_check=False)
        if query is None:
            continue
        for fk in graph.parents_of.get(table, []):
            if within is None or fk.parent in within:
                referencing.setdefault(fk.parent, []).append(_as_parent_rows(query, fk.attr_map))
    return restricted


def master_rows(part_name: str, part_rows: QueryExpression, graph: Any
                ) -> QueryExpression | None:
    """The rows of ``part_name``'s master that ``part_rows`` belong to, through the part's
    foreign keys inside the master's group; None if the part does not reach its master."""
    master = master_of_full_name(part_name)
    if master is None:
        return None
    group = {name for name in graph.names if name == master or master_of_full_name(name) == master}
    return referenced_rows(part_name, part_rows, graph, group).get(master)


def _table_named(origin: Any, name: str) -> Any:
    """The table called ``name``, on ``origin``'s connection (built by the tables module,
    which this one does not import)."""
    return getattr(origin, "table", origin).table_named(name)


def _as_parent_rows(query: QueryExpression, attr_map: tuple) -> QueryExpression:
    """The distinct foreign-key values of ``query``, named as the parent names them."""
    key = set(query.heading.primary_key)
    same = [child for child, parent in attr_map if child == parent and child not in key]
    renamed = {parent: child for child, parent in attr_map if child != parent}
    return U(*[parent for _, parent in attr_map]) & query.proj(*same, **renamed)
