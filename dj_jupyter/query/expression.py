"""``QueryExpression``: the user-facing query object over an immutable node.

Operators build new nodes (``&``, ``-``, ``.restrict``, ``.proj``); fetching
compiles the node (see :mod:`.algebra.compiler`) and runs it. Display is
delegated to :mod:`dj_jupyter.display`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..algebra.compiler import compile_select
from ..algebra.conditions import check_lineage, negation
from ..algebra.nodes import Aggregate, Distinct, Join, Node, Project, Restrict, Union
from ..algebra.nodes import Top as TopNode
from ..errors import RestrictionError
from ..settings import config
from . import fetch as _fetch
from . import presentation
from .operands import Not, Top, make_condition

if TYPE_CHECKING:
    from ..algebra.heading import Heading
    from ..backends.connection import Connection

__all__ = ["QueryExpression", "U", "as_expression"]


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
        """Rows matching ``condition`` (dict, string, list, AndList, Not, Top, query, ...)."""
        if isinstance(condition, Top):
            return self._derive(TopNode(self.node, condition.limit,
                                        condition.order_tuple, condition.offset))
        if isinstance(condition, U):
            return self
        made = make_condition(condition, self.heading, semantic_check=semantic_check)
        return self._derive(Restrict(self.node, made))

    def __and__(self, condition: Any) -> QueryExpression:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> QueryExpression:
        if isinstance(condition, (Top, U)):
            raise RestrictionError("a Top or dj.U cannot be subtracted; restrict with it instead")
        made = make_condition(condition, self.heading)
        return self._derive(Restrict(self.node, negation(made)))

    def __neg__(self):
        return Not(self)

    def join(self, other: Any, semantic_check: bool = True, left: bool = False) -> QueryExpression:
        """Rows of both operands matching on their common attributes (``*``).

        ``left=True`` keeps every row of this operand (NULLs where ``other`` has no match).
        """
        if isinstance(other, U):
            raise RestrictionError("query * dj.U(...) is no longer supported (DataJoint 2.0): "
                                   "use dj.U(...) & query, or dj.U(...).aggr(query, ...)")
        operand = _operand(other, "join")
        if semantic_check:
            check_lineage(_common(self.heading, operand.heading), self.heading, operand.heading)
        return QueryExpression(self.connection, Join(self.node, operand.node, left_outer=left))

    def __mul__(self, other: Any) -> QueryExpression:
        return self.join(other)

    def __rmul__(self, other: Any) -> QueryExpression:
        return _operand(other, "join").join(self)

    def extend(self, other: Any, semantic_check: bool = True) -> QueryExpression:
        """Add ``other``'s attributes, keeping every row of this operand (a left join)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    def __add__(self, other: Any) -> QueryExpression:
        """The union. Operands with secondary attributes are matched on their key (an outer
        union), which needs one lineage, as in a join; key-only operands are sets of values,
        united whatever their lineage (the result's key then has none), as in DataJoint."""
        operand = _operand(other, "union")
        node = Union(self.node, operand.node)  # checks the keys and secondaries first
        if self.heading.secondary_attributes or operand.heading.secondary_attributes:
            check_lineage(_common(self.heading, operand.heading), self.heading, operand.heading)
        return QueryExpression(self.connection, node)

    def __xor__(self, other: Any):
        raise RestrictionError("the ^ operator was removed in DataJoint 2.0: use "
                               "q & other.proj() for a restriction")

    def __matmul__(self, other: Any):
        raise RestrictionError("the @ operator was removed in DataJoint 2.0: use "
                               "q.join(other, semantic_check=False)")

    def proj(self, *attributes: Any, **named: str) -> QueryExpression:
        """Keep the primary key plus ``attributes``; ``...`` keeps all; ``'-a'`` drops ``a``.

        ``new='old'`` renames, ``new='(old)'`` duplicates ``old``, and ``new='sql'`` computes
        a new attribute from an SQL expression (MySQL flavour, made portable).
        """
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
        renames, computed = {}, {}
        kept_duplicates: set[str] = set()
        for new, value in named.items():
            if not isinstance(value, str):
                raise RestrictionError(f"proj({new}=...) takes a name or an SQL expression")
            value = value.strip()
            inner = value[1:-1].strip() if value.startswith("(") and value.endswith(")") else None
            if value in heading:
                renames[new] = value
            elif inner is not None and inner in heading:
                renames[new] = inner
                keep.append(inner)  # duplicate: the original stays
                kept_duplicates.add(inner)
            else:
                computed[new] = value
        unknown = [n for n in [*keep, *excluded, *renames.values()] if n not in heading]
        if unknown:
            raise RestrictionError(
                f"proj names {', '.join(map(repr, unknown))}, which the query does not have; its "
                f"attributes are {', '.join(heading.names)}")
        if excluded & set(heading.primary_key):
            raise RestrictionError("primary-key attributes cannot be excluded; rename them instead")
        # a rename moves its attribute unless it is also named on its own: ``...`` keeps the
        # other attributes, not the renamed one (``proj(..., city="home_city")``)
        kept_explicitly = {a for a in attributes if isinstance(a, str)} | kept_duplicates
        moved = {old for new, old in renames.items() if old not in kept_explicitly}
        keep = [n for n in dict.fromkeys(keep) if n not in excluded and n not in moved]
        names = [*keep, *renames, *computed]
        clash = {n for n in names if names.count(n) > 1}
        if clash:
            raise RestrictionError(f"proj would produce {', '.join(sorted(clash))} twice; "
                                   "choose other names")
        return self._derive(Project(self.node, tuple(keep), tuple(renames.items()),
                                    tuple(computed.items())))

    def aggr(self, other: Any, *attributes: Any, exclude_nonmatching: bool = False,
             **computed: str) -> QueryExpression:
        """This query's rows with aggregates over the matching rows of ``other``.

        Every row is kept (aggregates over no rows are NULL, counts of an attribute 0)
        unless ``exclude_nonmatching=True``. ``attributes`` (or ``...``) keep secondary
        attributes of this query.
        """
        operand = _operand(other, "aggr")
        missing = [n for n in self.heading.primary_key if n not in operand.heading]
        if missing:
            raise RestrictionError(
                f"aggr needs the primary key of the grouping query in the aggregated one; "
                f"{', '.join(missing)} missing")
        check_lineage(_common(self.heading, operand.heading), self.heading, operand.heading)
        keep = self.heading.secondary_attributes if Ellipsis in attributes else \
            [a for a in attributes if isinstance(a, str)]
        unknown = [a for a in keep if a not in self.heading]
        if unknown:
            raise RestrictionError(f"aggr keeps unknown attribute(s) {unknown}")
        _check_computed(computed, [*self.heading.primary_key, *keep])
        return QueryExpression(self.connection, Aggregate(
            self.node, operand.node, tuple(computed.items()), tuple(keep),
            keep_all=not exclude_nonmatching))

    aggregate = aggr
    # -- fetching -------------------------------------------------------------------------
    def to_dicts(self, order_by: Any = None, limit: int | None = None,
                 offset: int | None = None, squeeze: bool = False) -> list[dict]:
        """Rows as a list of dicts (``squeeze``: arrays without their length-1 dimensions)."""
        return _fetch.to_dicts(self, order_by=order_by, limit=limit, offset=offset,
                               squeeze=squeeze)

    def to_pandas(self, order_by: Any = None, limit: int | None = None,
                  offset: int | None = None, squeeze: bool = False):
        """Rows as a pandas DataFrame indexed by the primary key."""
        return _fetch.to_pandas(self, order_by=order_by, limit=limit, offset=offset,
                                squeeze=squeeze)

    def to_polars(self, order_by: Any = None, limit: int | None = None,
                  offset: int | None = None, squeeze: bool = False):
        """Rows as a polars DataFrame (the ``polars`` extra)."""
        return _fetch.to_polars(self, order_by=order_by, limit=limit, offset=offset,
                                squeeze=squeeze)

    def to_arrow(self, order_by: Any = None, limit: int | None = None,
                 offset: int | None = None, squeeze: bool = False):
        """Rows as a pyarrow Table (the ``arrow`` extra)."""
        return _fetch.to_arrow(self, order_by=order_by, limit=limit, offset=offset,
                               squeeze=squeeze)

    def to_arrays(self, *attributes: str, include_key: bool = False, order_by: Any = None,
                  limit: int | None = None, offset: int | None = None, squeeze: bool = False):
        """A numpy structured array, or one array per named attribute (text: a ``str`` array)."""
        return _fetch.to_arrays(self, *attributes, include_key=include_key, order_by=order_by,
                                limit=limit, offset=offset, squeeze=squeeze)

    def keys(self, order_by: Any = None, limit: int | None = None,
             offset: int | None = None) -> list[dict]:
        """Primary-key values of the rows, as dicts; ``order_by`` may name any attribute."""
        key = self.primary_key
        if not key:
            return self.proj().to_dicts(order_by=order_by, limit=limit, offset=offset)
        names, columns = _fetch.rows(self, key, order_by=order_by, limit=limit, offset=offset)
        return [dict(zip(names, values)) for values in zip(*columns)]

    def fetch1(self, *attributes: str, squeeze: bool = False):
        """The one row (dict), or its named values; an error unless exactly one row matches."""
        return _fetch.fetch1(self, *attributes, squeeze=squeeze)

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
        return presentation.as_text(self)

    def _repr_html_(self) -> str:
        return presentation.as_html(self)

    def preview(self, limit: int | None = None, width: int | None = None) -> str:
        """The text table ``repr`` shows: at most ``limit`` rows (``display.limit``), columns
        at most ``width`` characters wide (``display.width``), as DataJoint's ``preview``."""
        given = {"display.limit": limit, "display.width": width}
        with config.override({k: v for k, v in given.items() if v is not None}):
            return presentation.as_text(self)

    def make_sql(self) -> str:
        """The SELECT this query runs, for reading (values shown as parameters)."""
        return str(compile_select(self.node, self.connection.dialect).compile(
            dialect=self.connection.engine.dialect))


class U:
    """``dj.U(*attributes)``: the universal set over some attributes.

    ``dj.U('a', 'b') & q`` gives the distinct (a, b) values of ``q``;
    ``dj.U('a').aggr(q, n='count(*)')`` groups ``q`` by ``a``; ``dj.U().aggr(q, ...)``
    aggregates all of ``q`` into one row.
    """

    def __init__(self, *attributes: str):
        self.attributes = tuple(attributes)

    def __and__(self, other: Any) -> QueryExpression:
        operand = _operand(other, "restrict dj.U by")
        self._check(operand)
        return QueryExpression(operand.connection, Distinct(operand.node, self.attributes))

    __rand__ = __and__

    def aggr(self, other: Any, *attributes: Any, exclude_nonmatching: bool = True,
             **computed: str) -> QueryExpression:
        operand = _operand(other, "aggr")
        self._check(operand)
        if attributes:
            raise RestrictionError("dj.U(...).aggr keeps only its own attributes")
        _check_computed(computed, self.attributes)
        return QueryExpression(operand.connection, Aggregate(
            None, operand.node, tuple(computed.items()), by=self.attributes, keep_all=False))

    aggregate = aggr

    def _check(self, operand: QueryExpression) -> None:
        missing = [a for a in self.attributes if a not in operand.heading]
        if missing:
            raise RestrictionError(f"dj.U attribute(s) {missing} are not in the query "
                                   f"({', '.join(operand.heading.names)})")

    def __mul__(self, other: Any):
        raise RestrictionError("dj.U(...) * query is no longer supported (DataJoint 2.0): "
                               "use dj.U(...) & query")

    def __sub__(self, other: Any):
        raise RestrictionError("dj.U(...) - query would be an infinite set (every value not "
                               "in query); use dj.U(...) & (other - query) instead")

    def __repr__(self) -> str:
        return f"dj.U({', '.join(map(repr, self.attributes))})"


def _common(a: Heading, b: Heading) -> list[str]:
    return [n for n in a.names if n in b]


def _operand(other: Any, operation: str) -> QueryExpression:
    expression = as_expression(other)
    if expression is None:
        raise RestrictionError(f"cannot {operation} a {type(other).__name__}: use a table "
                               "or a query")
    return expression


def _check_computed(computed: dict, kept: Sequence[str]) -> None:
    bad = [n for n, v in computed.items() if not isinstance(v, str)]
    if bad:
        raise RestrictionError(f"aggregates {bad} must be SQL strings, e.g. n='count(*)'")
    clash = [n for n in computed if n in kept]
    if clash:
        raise RestrictionError(f"aggregate name(s) {', '.join(map(repr, clash))} would replace "
                               "an attribute the result keeps; choose other names")


def as_expression(operand: Any) -> QueryExpression | None:
    """A query for a query or a table class; None for anything else."""
    if isinstance(operand, QueryExpression):
        return operand
    if isinstance(operand, type) and issubclass(operand, QueryExpression):
        return operand()
    return None
