"""Restriction conditions, and the one function that coerces user operands into them.

:func:`make_condition` accepts every operand kind DataJoint users write —
dict, string, bool, list/tuple/set (OR), ``AndList`` (AND), ``Not``, a pandas
DataFrame (OR of its rows), another query (semijoin) — and checks it against
the heading it restricts. Values are never written into SQL text: the compiler
binds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import RestrictionError
from .heading import Heading

if TYPE_CHECKING:
    from .nodes import Node

__all__ = ["Condition", "Equals", "IsNull", "And", "Or", "Negation", "Constant", "SqlText",
           "Exists", "KeyAfter", "AndList", "Not", "Top", "make_condition", "TRUE", "FALSE"]


class Condition:
    """Base class of conditions."""


@dataclass(frozen=True)
class Constant(Condition):
    value: bool


TRUE = Constant(True)
FALSE = Constant(False)


@dataclass(frozen=True)
class Equals(Condition):
    attribute: str
    value: Any


@dataclass(frozen=True)
class IsNull(Condition):
    attribute: str


@dataclass(frozen=True)
class And(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or(Condition):
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation(Condition):
    item: Condition


@dataclass(frozen=True)
class SqlText(Condition):
    """Trusted SQL written by the user (as in DataJoint, string restrictions are code)."""

    text: str


@dataclass(frozen=True, eq=False)
class Exists(Condition):
    """Semijoin: some row of ``relation`` matches on ``attributes``."""

    relation: Node
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class KeyAfter(Condition):
    """Rows whose ``attributes`` come after ``values`` in key order (keyset paging)."""

    attributes: tuple[str, ...]
    values: tuple


class AndList(list):
    """``dj.AndList([a, b])``: a restriction true when every element is (empty: always)."""


class Top:
    """``dj.Top(limit=1, order_by="KEY", offset=0)``: the first rows in an order.

    ``order_by`` is an attribute name, ``"name DESC"``, ``"KEY"`` (the primary key),
    ``"KEY DESC"``, or a list of those; ``limit=None`` keeps every row after ``offset``.
    """

    def __init__(self, limit: int | None = 1, order_by: Any = "KEY", offset: int = 0):
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise RestrictionError("Top(limit=...) takes a non-negative integer or None")
        if not isinstance(offset, int) or offset < 0:
            raise RestrictionError("Top(offset=...) takes a non-negative integer")
        self.limit = limit
        self.order_by = order_by
        self.offset = offset

    @property
    def order_tuple(self) -> tuple[str, ...]:
        if self.order_by is None:
            return ()
        return (self.order_by,) if isinstance(self.order_by, str) else tuple(self.order_by)

    def __repr__(self) -> str:
        return f"Top(limit={self.limit}, order_by={self.order_by!r}, offset={self.offset})"


class Not:
    """``dj.Not(cond)``: the negation of a restriction operand."""

    def __init__(self, restriction: Any):
        self.restriction = restriction

    def __repr__(self) -> str:
        return f"Not({self.restriction!r})"


def conjunction(items: Iterable[Condition]) -> Condition:
    items = [i for i in items if i != TRUE]
    if any(i == FALSE for i in items):
        return FALSE
    if not items:
        return TRUE
    return items[0] if len(items) == 1 else And(tuple(items))


def disjunction(items: Iterable[Condition]) -> Condition:
    items = [i for i in items if i != FALSE]
    if any(i == TRUE for i in items):
        return TRUE
    if not items:
        return FALSE
    return items[0] if len(items) == 1 else Or(tuple(items))


def negation(item: Condition) -> Condition:
    if isinstance(item, Constant):
        return Constant(not item.value)
    if isinstance(item, Negation):
        return item.item
    return Negation(item)


def make_condition(operand: Any, heading: Heading, *, semantic_check: bool = True) -> Condition:
    """The condition a restriction operand means on a relation with ``heading``."""
    from ..query.expression import as_expression

    if isinstance(operand, Condition):
        return operand
    if isinstance(operand, bool):
        return Constant(operand)
    if isinstance(operand, Not):
        return negation(make_condition(operand.restriction, heading, semantic_check=semantic_check))
    if isinstance(operand, AndList):
        return conjunction(make_condition(o, heading, semantic_check=semantic_check)
                           for o in operand)
    if isinstance(operand, str):
        return SqlText(operand)
    if isinstance(operand, Mapping):
        return _from_mapping(operand, heading)
    if _is_record(operand):
        return _from_mapping(dict(zip(operand.dtype.names, operand.tolist())), heading)
    expression = as_expression(operand)
    if expression is not None:
        return _semijoin(expression, heading, semantic_check)
    if _is_dataframe(operand):
        records = operand.reset_index().to_dict("records") if _has_named_index(operand) \
            else operand.to_dict("records")
        return disjunction(_from_mapping(r, heading) for r in records)
    if isinstance(operand, (list, tuple, set, frozenset)) or _is_array(operand):
        return disjunction(make_condition(o, heading, semantic_check=semantic_check)
                           for o in operand)
    raise RestrictionError(
        f"cannot restrict by a {type(operand).__name__}: use a dict of attribute values, a SQL "
        "string, a list (OR), dj.AndList (AND), dj.Not, or another query")


def _from_mapping(values: Mapping, heading: Heading) -> Condition:
    """AND of attribute = value over the keys that are attributes (others are ignored)."""
    items: list[Condition] = []
    for name, value in values.items():
        if name not in heading:
            continue
        items.append(IsNull(name) if value is None else Equals(name, value))
    return conjunction(items)


def _semijoin(expression: Any, heading: Heading, semantic_check: bool) -> Condition:
    other = expression.heading
    common = tuple(n for n in heading.names if n in other)
    if semantic_check:
        check_lineage(common, heading, other)
    return Exists(expression.node, common)


def check_lineage(common: Iterable[str], left: Heading, right: Heading) -> None:
    """Refuse to match attributes that share a name but not an origin."""
    for name in common:
        a, b = left[name].lineage, right[name].lineage
        if a is not None and a == b:
            continue
        why = (f"different lineages ({a} vs {b})" if a and b
               else f"lineage missing on {'both sides' if a == b else 'one side'} ({a} vs {b})")
        raise RestrictionError(
            f"Cannot match on attribute {name!r}: {why}. Attributes match only when they come "
            f"from the same table. Rename or drop it on one side, e.g. .proj({name}_2='{name}') "
            f"or .proj('-{name}'), or pass semantic_check=False to match by name.")


def _is_record(value: Any) -> bool:
    return type(value).__name__ == "void" and getattr(value, "dtype", None) is not None \
        and value.dtype.names is not None


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_dict")


def _has_named_index(frame: Any) -> bool:
    return any(name is not None for name in frame.index.names)


def _is_array(value: Any) -> bool:
    return type(value).__name__ == "ndarray"
