"""The natural key source of an auto-populated table: the join of its primary-key parents.

What ``populate`` takes unless a class overrides ``key_source``; also what a table reached by
name (a ``FreeTable``: ``schema.jobs``, the status panel) is populated from.
"""

from __future__ import annotations

from ..catalog.catalog import catalog_of
from ..query.expression import QueryExpression
from ..tables.table import FreeTable

__all__ = ["natural_key_source"]


def natural_key_source(table: FreeTable) -> QueryExpression:
    """The join of ``table``'s primary-key parents (renamed as its foreign keys rename)."""
    dependencies = catalog_of(table.connection).dependencies
    key = set(table.heading.primary_key)
    source: QueryExpression | None = None
    for fk in dependencies.parents_of.get(table.full_name, []):
        if not set(fk.child_attributes) <= key:
            continue
        renames = {child: parent for child, parent in fk.attr_map if child != parent}
        term = FreeTable(table.connection, fk.parent).proj(**renames)
        source = term if source is None else source * term
    return source if source is not None else table.proj()
