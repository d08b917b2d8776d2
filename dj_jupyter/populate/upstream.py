"""``self.upstream`` inside ``make``: the ancestors' rows the key being made depends on.

DataJoint 2.x gives ``make`` a pre-restricted view of every ancestor: ``self.upstream[Session]``
is ``Session`` restricted to the rows reachable from the key through the foreign keys. Here the
walk starts from the key itself (a parent whose foreign key lies in the key is restricted by
its values, so it works before ``make`` inserts anything) and goes up one foreign key at a
time, each ancestor restricted by the restricted rows of its children (several paths: any of
them, OR). Nothing is queried until a view is read; the views are built on first access and
kept for the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..catalog import naming
from ..errors import DataJointError
from ..query.expression import QueryExpression, U

if TYPE_CHECKING:
    from ..tables.table import Table

__all__ = ["Upstream"]


class Upstream:
    """``upstream[T]``: ancestor ``T`` (a class, or its name) restricted to ``key``'s rows."""

    def __init__(self, table: Table, key: dict):
        self._table = table
        self._key = dict(key)
        self._seed = table.full_name
        self._members: set[str] | None = None
        self._views: dict[str, list] = {}  # table name -> its restriction (a list: OR)

    @property
    def tables(self) -> list[str]:
        """Full names of the ancestors reachable from the key (and the table itself)."""
        return sorted(self._reachable())

    def _reachable(self) -> set[str]:
        if self._members is None:
            self._members = {t.full_name for t in self._table.ancestors(as_objects=True)}
        return self._members

    def __getitem__(self, item: Any) -> QueryExpression:
        name = self._name_of(item)
        restriction = self._restriction(name)
        if isinstance(item, type):
            return item & restriction
        return self._table.table_named(name) & restriction

    def __contains__(self, item: Any) -> bool:
        try:
            self._name_of(item)
        except DataJointError:
            return False
        return True

    def _name_of(self, item: Any) -> str:
        members = self._reachable()
        if isinstance(item, str):
            matches = [m for m in members if item in (m, m.replace("`", ""))
                       or naming.class_name_of(m.split(".", 1)[1]) == item
                       or self._table.table_named(m).full_table_name == item]
        else:
            full = getattr(item, "full_name", None)
            matches = [full] if isinstance(full, str) and full in members else []
        if not matches:
            shown = getattr(item, "__name__", item)
            raise DataJointError(
                f"{shown} is not in this trace: it is not upstream of "
                f"{type(self._table).__name__}, and self.upstream holds the table's ancestors "
                "only; query other tables directly")
        return matches[0]

    def _restriction(self, name: str) -> Any:
        """What restricts ``name`` to the key's rows: the key for the table itself, else the
        list (OR) of what each of its children in the trace allows."""
        if name == self._seed:
            return self._key
        if name not in self._views:
            parent = self._table.table_named(name)
            terms = [self._through(child.full_name, name, info["attr_map"])
                     for child, info in parent.children(as_objects=True, foreign_key_info=True)
                     if child.full_name in self._reachable()]
            self._views[name] = terms
        return self._views[name]

    def _through(self, child: str, parent: str, attr_map: dict) -> Any:
        """The parent rows that rows of ``child`` in the trace reference by one foreign key."""
        if child == self._seed and all(c in self._key for c in attr_map):
            return {p: self._key[c] for c, p in attr_map.items()}
        rows = self._table.table_named(child) & self._restriction(child)
        renames = {p: c for c, p in attr_map.items() if p != c}
        referenced = rows.proj(**renames) if renames else rows
        return U(*attr_map.values()) & referenced
