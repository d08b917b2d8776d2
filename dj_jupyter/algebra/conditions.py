"""Restriction conditions: frozen data the compiler turns into SQL, values always bound.

Users' operands (dicts, strings, lists, ``dj.AndList``, ``dj.Not``, DataFrames, queries)
become conditions in :mod:`dj_jupyter.query.operands`, the query layer above; this module
knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import RestrictionError
from .heading import Heading

if TYPE_CHECKING:
    from .nodes import Node

__all__ = ["Condition", "Equals", "IsNull", "And", "Or", "Negation", "Constant", "SqlText",
           "Exists", "KeyAfter", "TRUE", "FALSE", "conjunction", "disjunction", "negation",
           "check_lineage"]


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
    """Rows whose ``attributes`` come after ``values`` in their order (keyset paging):
    compared as one row value, ascending (or ``descending``), ``inclusive`` of ``values``."""

    attributes: tuple[str, ...]
    values: tuple
    descending: bool = False
    inclusive: bool = False


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


