"""``QueryExpression``: the user-facing query object over an immutable node.

Operators build new nodes (``&``, ``-``, ``.restrict``, ``.proj``); fetching
compiles the node (see :mod:`.algebra.compiler`) and runs it. Display is
delegated to :mod:`dj_jupyter.display`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import RestrictionError
from . import fetch as _fetch
from .algebra.conditions import make_condition, negation
from .algebra.nodes import Node, Project, Restrict

if TYPE_CHECKING:
    from .backends.connection import Connection
    from .heading import Heading

__all__ = ["QueryExpression", "as_expression"]


class QueryExpression:
    """A query: rows of a table or of a combination of tables, fetched on demand."""

    def __init__(self, connection: Connection, node: Node):
        self._connection = connection
        self._node = node

    # -- what it is ------------------------------------------------------------------
    @property
    def node(self) -> Node:
        return self._node

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def heading(self) -> Heading:
        return self.node.heading

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    def _derive(self, node: Node) -> QueryExpression:
        return QueryExpression(self.connection, node)

    # -- operators -----------------------------------------------------------------
    def restrict(self, condition: Any, semantic_check: bool = True) -> QueryExpression:
        """Rows matching ``condition`` (dict, string, list, AndList, Not, query, ...)."""
        made = make_condition(condition, self.heading, semantic_check=semantic_check)
        return self._derive(Restrict(self.node, made))

    def __and__(self, condition: Any) -> QueryExpression:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> QueryExpression:
        made = make_condition(condition, self.heading)
        return self._derive(Restrict(self.node, negation(made)))

    def proj(self, *attributes: Any, **renames: str) -> QueryExpression:
        """Keep the primary key plus ``attributes``; ``new='old'`` renames; ``...`` keeps all."""
        heading = self.heading
        keep = list(heading.primary_key)
        excluded = set()
        for item in attributes:
            if item is Ellipsis:
                keep += [n for n in heading.secondary_attributes if n not in keep]
            elif isinstance(item, str) and item.startswith("-"):
                excluded.add(item[1:].strip())
            elif isinstance(item, str):
                keep.append(item)
            else:
                raise RestrictionError(f"proj takes attribute names, got {item!r}")
        unknown = [n for n in [*keep, *excluded, *renames.values()] if n not in heading]
        if unknown:
            raise RestrictionError(
                f"proj names {', '.join(map(repr, unknown))}, which the query does not have; its "
                f"attributes are {', '.join(heading.names)}")
        if excluded & set(heading.primary_key):
            raise RestrictionError("primary-key attributes cannot be excluded; rename them instead")
        renamed_away = set(renames.values()) - set(a for a in attributes if isinstance(a, str))
        keep = [n for n in dict.fromkeys(keep) if n not in excluded and n not in renamed_away]
        clash = set(renames) & set(keep)
        if clash:
            raise RestrictionError(f"proj would produce {', '.join(sorted(clash))} twice")
        return self._derive(Project(self.node, tuple(keep), tuple(renames.items())))

    # -- fetching -------------------------------------------------------------------------
    def to_dicts(self, order_by: Any = None, limit: int | None = None,
                 offset: int | None = None) -> list[dict]:
        """Rows as a list of dicts."""
        return _fetch.to_dicts(self, order_by=order_by, limit=limit, offset=offset)

    def to_pandas(self, order_by: Any = None, limit: int | None = None,
                  offset: int | None = None):
        """Rows as a pandas DataFrame indexed by the primary key."""
        return _fetch.to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrays(self, *attributes: str, include_key: bool = False, order_by: Any = None,
                  limit: int | None = None, offset: int | None = None):
        """A numpy structured array, or one array per named attribute."""
        return _fetch.to_arrays(self, *attributes, include_key=include_key, order_by=order_by,
                                limit=limit, offset=offset)

    def keys(self, order_by: Any = None, limit: int | None = None,
             offset: int | None = None) -> list[dict]:
        """Primary-key values of the rows, as dicts."""
        return self.proj().to_dicts(order_by=order_by, limit=limit, offset=offset)

    def fetch1(self, *attributes: str):
        """The one row (dict), or its named values; an error unless exactly one row matches."""
        return _fetch.fetch1(self, *attributes)

    def fetch(self, *attributes: str, **kwargs: Any):
        """Deprecated DataJoint 0.x/1.x fetch; use to_dicts/to_pandas/to_arrays."""
        return _fetch.legacy_fetch(self, *attributes, **kwargs)

    def head(self, limit: int = 25) -> list[dict]:
        return self.to_dicts(order_by="KEY", limit=limit)

    def tail(self, limit: int = 25) -> list[dict]:
        rows = self.to_dicts(order_by="KEY DESC", limit=limit)
        return rows[::-1]

    def __len__(self) -> int:
        return _fetch.count(self)

    def __bool__(self) -> bool:
        return _fetch.exists(self)

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __iter__(self) -> Iterator[dict]:
        return _fetch.iterate(self)

    # -- display --------------------------------------------------------------------------
    def __repr__(self) -> str:
        from ..display.text import preview_text

        return preview_text(self)

    def _repr_html_(self) -> str:
        from ..display.html import preview_html

        return preview_html(self)

    def make_sql(self) -> str:
        """The SELECT this query runs, for reading (values shown as parameters)."""
        from .algebra.compiler import compile_select

        return str(compile_select(self.node, self.connection.dialect).compile(
            dialect=self.connection.engine.dialect))


def as_expression(operand: Any) -> QueryExpression | None:
    """A query for a query or a table class; None for anything else."""
    if isinstance(operand, QueryExpression):
        return operand
    if isinstance(operand, type) and issubclass(operand, QueryExpression):
        return operand()
    return None
