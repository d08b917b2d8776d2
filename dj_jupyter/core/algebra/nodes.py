"""Relational nodes: frozen data describing a query; the compiler turns them into SQL.

Each node knows its :class:`~dj_jupyter.core.heading.Heading` and nothing about
SQL text. Operators on :class:`~dj_jupyter.core.expression.QueryExpression`
only ever build new nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..heading import Heading, TableInfo
from .conditions import Condition


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
    """Attributes kept (``keep``) and renamed (``renames``: new name, old name) from ``source``."""

    source: Node
    keep: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()

    @cached_property
    def heading(self) -> Heading:
        return self.source.heading.project(self.keep, dict(self.renames))


def base_table(node: Node) -> TableNode | None:
    """The stored table under restrictions only (what delete and update act on)."""
    while isinstance(node, Restrict):
        node = node.source
    return node if isinstance(node, TableNode) else None
