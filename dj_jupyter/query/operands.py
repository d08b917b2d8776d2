"""Restriction operands: everything users write after ``&`` or ``-``, made into conditions.

:func:`make_condition` accepts every operand kind DataJoint users write — dict, string, bool,
list/tuple/set (OR), :class:`AndList` (AND), :class:`Not`, a pandas DataFrame (OR of its rows),
another query (semijoin) — and checks it against the heading it restricts: each value is
checked when its condition is built, so the compiler only binds. :class:`Top` and the
``limit``/``offset``/``order_by`` checks live here too. The pure conditions are in
:mod:`dj_jupyter.algebra.conditions`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from ..algebra.conditions import (
    Condition,
    Constant,
    Equals,
    Exists,
    IsNull,
    SqlText,
    check_lineage,
    conjunction,
    disjunction,
    negation,
)
from ..algebra.heading import Heading
from ..algebra.values import BadValue, value_check
from ..errors import DataTypeError, RestrictionError, RestrictionTypeError

__all__ = ["AndList", "Not", "Top", "make_condition", "checked_count", "checked_order_by",
           "MAX_NESTING"]


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
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise RestrictionTypeError(f"{what} takes a non-negative integer or None, not "
                                   f"{value!r}")
    if value < 0:
        raise RestrictionError(f"{what} takes a non-negative integer or None, not {value!r}")
    return int(value)


def checked_order_by(order_by: Any) -> Any:
    """``order_by``: None, ``"attr"``, ``"attr DESC"``, ``"KEY"``, a list of those, or
    several of them in one string separated by commas (``"a, b DESC"``), as in DataJoint."""
    if order_by is None:
        return None
    items = [order_by] if isinstance(order_by, str) else order_by
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise RestrictionTypeError(
            f"order_by takes an attribute name, 'name DESC', 'KEY' or a list of those, not "
            f"{order_by!r}")
    for item in items:
        _checked_text(item, "order_by")
        if not all(part.strip() for part in item.split(",")):
            raise RestrictionError(f"order_by {item!r} holds an empty name; name an attribute "
                                   "(e.g. 'a, b DESC')")
    return order_by


class Not:
    """``dj.Not(cond)``: the negation of a restriction operand."""

    def __init__(self, restriction: Any):
        self.restriction = restriction

    def __repr__(self) -> str:
        return f"Not({self.restriction!r})"


MAX_NESTING = 50  # lists, AndLists and Nots inside each other; deeper is a mistake


def make_condition(operand: Any, heading: Heading, *, semantic_check: bool = True) -> Condition:
    """The condition a restriction operand means on a relation with ``heading``."""
    return _condition(operand, heading, semantic_check, 0)


def _condition(operand: Any, heading: Heading, semantic_check: bool, depth: int) -> Condition:
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
    expression = _as_query(operand)
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


def _as_query(operand: Any) -> Any:
    """A query for a query or a table class; None for anything else. Known by what a query has
    (a node, a heading, a connection): QueryExpression sits above this module."""
    target = operand() if isinstance(operand, type) and _is_query(operand) else operand
    return target if not isinstance(target, type) and _is_query(target) else None


def _is_query(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("node", "heading", "connection", "restrict"))


def _is_record(value: Any) -> bool:
    return type(value).__name__ == "void" and getattr(value, "dtype", None) is not None \
        and value.dtype.names is not None


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_dict")


def _has_named_index(frame: Any) -> bool:
    return any(name is not None for name in frame.index.names)


def _is_array(value: Any) -> bool:
    return type(value).__name__ == "ndarray"
