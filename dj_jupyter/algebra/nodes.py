"""Relational nodes: frozen data describing a query; the compiler turns them into SQL.

Each node computes its :class:`~dj_jupyter.algebra.heading.Heading` (names, primary
key, lineage) and knows nothing about SQL text. Operators on
:class:`~dj_jupyter.query.expression.QueryExpression` only ever build new nodes,
checking their operands on construction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from ..definition.model import TypeSpec
from ..errors import RestrictionError
from .conditions import Condition
from .heading import Attribute, Heading, TableInfo

__all__ = ["Node", "TableNode", "Restrict", "Project", "Join", "Aggregate", "Union", "Distinct",
           "Top", "COMPUTED", "base_table", "selected_table", "determines"]

COMPUTED = TypeSpec("computed", (), "computed")


class Node:
    """Base class of relational nodes."""

    @property
    def heading(self) -> Heading:  # pragma: no cover - every node overrides
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class TableNode(Node):
    """A stored table."""

    info: TableInfo

    @property
    def heading(self) -> Heading:
        return self.info.heading


@dataclass(frozen=True, eq=False)
class Restrict(Node):
    """Rows of ``source`` satisfying ``condition``."""

    source: Node
    condition: Condition

    @property
    def heading(self) -> Heading:
        return self.source.heading


@dataclass(frozen=True, eq=False)
class Project(Node):
    """Attributes kept, renamed (new, old) and computed (name, SQL) from ``source``."""

    source: Node
    keep: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()
    computed: tuple[tuple[str, str], ...] = ()

    @cached_property
    def heading(self) -> Heading:
        heading = self.source.heading.project(self.keep, dict(self.renames))
        # a duplicate ``new='(old)'`` of a key attribute is a copy, not part of the key
        copies = {new for new, old in self.renames if old in self.keep}
        attributes = [replace(a, in_key=False) if a.name in copies else a
                      for a in heading.attributes_]
        source = self.source.heading
        extra = [computed_attribute(name, text, source) for name, text in self.computed]
        return heading.with_attributes((*(a for a in attributes if a.in_key),
                                        *(a for a in attributes if not a.in_key), *extra))


def computed_attribute(name: str, text: str = "", scope: Heading | None = None) -> Attribute:
    """A secondary attribute made by an SQL expression: no lineage; no declared type unless
    the expression keeps a column's type (``max(session_date)`` is a date)."""
    like = None
    if text and scope is not None:
        from .fragments import parse_fragment, typed_like

        like = typed_like(parse_fragment(text))
    if like is not None and like in scope and scope[like].type.name != "computed":
        return Attribute(name=name, type=scope[like].type, in_key=False, nullable=True,
                         sql_type=scope[like].sql_type)
    return Attribute(name=name, type=COMPUTED, in_key=False, nullable=True)


def determines(a: Heading, b: Heading) -> bool:
    """A → B: every primary-key attribute of B is an attribute of A."""
    return all(name in a for name in b.primary_key)


@dataclass(frozen=True, eq=False)
class Join(Node):
    """Rows of ``left`` and ``right`` matching on their common attributes.

    The primary key follows functional dependency: A → B gives PK(A) with A's
    attributes first; else B → A gives PK(B) with B's first; else PK(A) ∪ PK(B).
    ``left_outer`` keeps every row of ``left`` (and requires A → B).
    """

    left: Node
    right: Node
    left_outer: bool = False

    def __post_init__(self) -> None:
        if self.left_outer and not determines(self.left.heading, self.right.heading):
            raise RestrictionError(
                "a left join (or extend) needs the left operand to determine the right one: "
                "every primary-key attribute of the right operand "
                f"({', '.join(self.right.heading.primary_key)}) must be in the left one, so "
                "that each left row matches at most one right row; use an inner join, or "
                "swap the operands")

    @property
    def common(self) -> tuple[str, ...]:
        right = self.right.heading
        return tuple(n for n in self.left.heading.names if n in right)

    @cached_property
    def heading(self) -> Heading:
        a, b = self.left.heading, self.right.heading
        if determines(a, b):
            key, first, second = a.primary_key, a, b
        elif determines(b, a):
            key, first, second = b.primary_key, b, a
        else:
            key = list(dict.fromkeys([*a.primary_key, *b.primary_key]))
            first, second = a, b
        members = {n: first[n] if n in first else second[n] for n in (*first.names, *second.names)}
        in_key = set(key)
        ordered = [n for n in key] + [n for n in members if n not in in_key]
        return Heading(tuple(replace(members[n], in_key=n in in_key,
                                     nullable=members[n].nullable or (
                                         self.left_outer and n not in a))
                             for n in ordered))


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    """Rows of ``group`` (keeping ``keep``) with ``computed`` aggregates over matching
    ``source`` rows. ``keep_all`` keeps group rows without matches (a LEFT JOIN);
    a ``group`` of None aggregates the whole source into one row."""

    group: Node | None
    source: Node
    computed: tuple[tuple[str, str], ...]
    keep: tuple[str, ...] = ()
    keep_all: bool = True
    by: tuple[str, ...] = ()  # grouping attributes when group is None (dj.U(...).aggr)

    @cached_property
    def heading(self) -> Heading:
        if self.group is None:
            source = self.source.heading
            key = [replace(source[n], in_key=True) for n in self.by]
            return Heading((*key, *(computed_attribute(n, t, source) for n, t in self.computed)))
        group = self.group.heading
        kept = group.project(list(dict.fromkeys([*group.primary_key, *self.keep])))
        scope = self.source.heading
        return kept.with_attributes((*kept.attributes_,
                                     *(computed_attribute(n, t, scope) for n, t in self.computed)))


@dataclass(frozen=True, eq=False)
class Union(Node):
    """Rows of either operand; with secondary attributes, an outer union (NULL-padded)."""

    left: Node
    right: Node

    def __post_init__(self) -> None:
        a, b = self.left.heading, self.right.heading
        if set(a.primary_key) != set(b.primary_key):
            raise RestrictionError(
                f"union needs the same primary key on both sides: {a.primary_key} vs "
                f"{b.primary_key}; project both onto one key first")
        shared = set(a.secondary_attributes) & set(b.secondary_attributes)
        if shared:
            raise RestrictionError(
                f"union operands share secondary attributes {sorted(shared)}; rename or drop "
                "them on one side with .proj()")

    @cached_property
    def heading(self) -> Heading:
        a, b = self.left.heading, self.right.heading
        secondary = [replace(a[n], nullable=True) for n in a.secondary_attributes] + \
            [replace(b[n], nullable=True) for n in b.secondary_attributes]
        # a key attribute born in two places (a union of key-only operands) has no one lineage
        key = [a[n] if a[n].lineage == b[n].lineage else replace(a[n], lineage=None)
               for n in a.primary_key]
        return Heading((*key, *secondary))


@dataclass(frozen=True, eq=False)
class Distinct(Node):
    """``dj.U(a, b) & source``: the distinct values of ``attributes`` (they form the key)."""

    source: Node
    attributes: tuple[str, ...]

    @cached_property
    def heading(self) -> Heading:
        source = self.source.heading
        return Heading(tuple(replace(source[n], in_key=True) for n in self.attributes))


@dataclass(frozen=True, eq=False)
class Top(Node):
    """The first ``limit`` rows of ``source`` in ``order_by`` order, after ``offset``."""

    source: Node
    limit: int | None
    order_by: tuple[str, ...]
    offset: int = 0

    @property
    def heading(self) -> Heading:
        return self.source.heading


def base_table(node: Node) -> TableNode | None:
    """The stored table under restrictions only (what delete and update act on)."""
    while isinstance(node, Restrict):
        node = node.source
    return node if isinstance(node, TableNode) else None


def selected_table(node: Node) -> TableNode | None:
    """The stored table under restrictions and ``dj.Top`` selections: the node picks rows
    of that one table (a delete can act on them once the selected keys are read)."""
    while isinstance(node, (Restrict, Top)):
        node = node.source
    return node if isinstance(node, TableNode) else None
