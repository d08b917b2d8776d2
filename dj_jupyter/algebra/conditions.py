"""Restriction conditions, and the one function that coerces user operands into them.

:func:`make_condition` accepts every operand kind DataJoint users write —
dict, string, bool, list/tuple/set (OR), ``AndList`` (AND), ``Not``, a pandas
DataFrame (OR of its rows), another query (semijoin) — and checks it against
the heading it restricts. Values are never written into SQL text: the compiler
binds them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from ..errors import DataTypeError, RestrictionError
from .heading import Heading
from .values import BadValue, value_check

if TYPE_CHECKING:
    from .nodes import Node

__all__ = ["Condition", "Equals", "IsNull", "And", "Or", "Negation", "Constant", "SqlText",
           "Exists", "KeyAfter", "AndList", "Not", "Top", "make_condition", "TRUE", "FALSE",
           "checked_count", "checked_order_by"]


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
        self.limit = checked_count(limit, "Top(limit=...)")
        self.order_by = checked_order_by(order_by)
        skipped = checked_count(offset, "Top(offset=...)")
        self.offset = 0 if skipped is None else skipped

    @property
    def order_tuple(self) -> tuple[str, ...]:
        if self.order_by is None:
            return ()
        return (self.order_by,) if isinstance(self.order_by, str) else tuple(self.order_by)

    def __repr__(self) -> str:
        return f"Top(limit={self.limit}, order_by={self.order_by!r}, offset={self.offset})"


def checked_count(value: Any, what: str) -> int | None:
    """A limit or offset: None or a non-negative whole number (numpy integers too)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise RestrictionError(f"{what} takes a non-negative integer or None, not {value!r}")
    return int(value)


def checked_order_by(order_by: Any) -> Any:
    """``order_by``: None, ``"attr"``, ``"attr DESC"``, ``"KEY"``, or a list of those."""
    if order_by is None:
        return None
    items = [order_by] if isinstance(order_by, str) else order_by
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise RestrictionError(
            f"order_by takes an attribute name, 'name DESC', 'KEY' or a list of those, not "
            f"{order_by!r}")
    for item in items:
        _checked_text(item, "order_by")
        if not item.strip():
            raise RestrictionError("order_by holds an empty string; name an attribute")
    return order_by


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


MAX_NESTING = 50  # lists, AndLists and Nots inside each other; deeper is a mistake


def make_condition(operand: Any, heading: Heading, *, semantic_check: bool = True) -> Condition:
    """The condition a restriction operand means on a relation with ``heading``."""
    return _condition(operand, heading, semantic_check, 0)


def _condition(operand: Any, heading: Heading, semantic_check: bool, depth: int) -> Condition:
    from ..query.expression import as_expression

    if isinstance(operand, Condition):
        return operand
    if isinstance(operand, bool):
        return Constant(operand)
    if depth > MAX_NESTING:
        raise RestrictionError(
            f"the restriction nests lists, dj.AndList or dj.Not more than {MAX_NESTING} levels "
            "deep; flatten it (a list inside a list means the same as one list of all items)")
    if isinstance(operand, Not):
        return negation(_condition(operand.restriction, heading, semantic_check, depth + 1))
    if isinstance(operand, AndList):
        return conjunction(_condition(o, heading, semantic_check, depth + 1) for o in operand)
    if isinstance(operand, str):
        return SqlText(_checked_text(operand, "a restriction string"))
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
        return disjunction(_condition(o, heading, semantic_check, depth + 1) for o in operand)
    raise RestrictionError(
        f"cannot restrict by a {type(operand).__name__}: use a dict of attribute values, a SQL "
        "string, a list (OR), dj.AndList (AND), dj.Not, or another query")


def _from_mapping(values: Mapping, heading: Heading) -> Condition:
    """AND of attribute = value over the keys that are attributes (others are ignored)."""
    items: list[Condition] = []
    for name, value in values.items():
        if name not in heading:
            continue
        if value is None or _is_nan(value):  # as in insert: None and NaN mean NULL
            items.append(IsNull(name))
        else:
            items.append(Equals(name, _checked_value(heading[name], value)))
    return conjunction(items)


def _checked_value(attribute: Any, value: Any) -> Any:
    """The value as its attribute stores it, checked now (not when compiled, where an OR
    that is already true would skip it); codec values are checked when compiled."""
    spec = attribute.type
    if spec.is_codec or spec.name == "computed":
        return value
    try:
        return _value_check(spec)(value)
    except BadValue as problem:
        raise DataTypeError(f"restriction on {attribute.name!r} ({spec.text}): {problem}") \
            from None


@functools.lru_cache(maxsize=512)
def _value_check(spec: Any) -> Any:
    return value_check(spec)


def _is_nan(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, Integral) and value != value


def _checked_text(text: str, what: str) -> str:
    """SQL text with no NUL and no lone surrogate (no driver can send those)."""
    if "\x00" in text:
        raise RestrictionError(f"{what} contains the NUL character; remove it")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise RestrictionError(
                f"{what} holds a lone surrogate {text[error.start]!r} at position {error.start}, "
                "which is not valid Unicode; remove it") from None
    return text


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
