"""What a table definition says, as frozen data.

The parser turns definition text into a :class:`TableDefinition`; the declare
layer turns that into DDL; :func:`dj_jupyter.definition.render` turns it
back into text. Nothing here touches a database or evaluates Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TypeSpec", "Default", "AttributeSpec", "ForeignKeySpec", "IndexSpec",
           "TableDefinition"]


@dataclass(frozen=True)
class TypeSpec:
    """A declared attribute type.

    ``name`` is the canonical type family: a core type (``int8`` … ``int64``,
    ``float32``, ``float64``, ``bool``, ``decimal``, ``char``, ``varchar``, ``enum``,
    ``date``, ``datetime``, ``json``, ``uuid``, ``bytes``), ``codec`` for
    ``<name@store>`` types, or a native SQL type family (``native``).
    ``args`` holds the parameters: ``(precision, scale)`` for decimal, ``(length,)``
    for char/varchar, the values for enum, ``(fsp,)`` for datetime (empty when
    omitted), ``(codec_name, store)`` for codecs (store ``None`` for in-table,
    ``""`` for the default store). ``text`` is the canonical spelling, written
    into the stored ``:type:`` marker and rendered by ``describe()``.
    """

    name: str
    args: tuple[Any, ...] = ()
    text: str = ""

    @property
    def is_codec(self) -> bool:
        return self.name == "codec"

    @property
    def is_native(self) -> bool:
        return self.name == "native"


@dataclass(frozen=True)
class Default:
    """A declared default: a literal (as text, quotes removed) or an SQL expression."""

    value: str
    is_expression: bool = False  # CURRENT_TIMESTAMP[(n)]


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: TypeSpec
    in_key: bool
    nullable: bool = False          # declared with ``= null``
    default: Default | None = None  # None: no default (a value is required, unless nullable)
    comment: str = ""
    line: int = 0


@dataclass(frozen=True)
class ForeignKeySpec:
    """``-> [nullable, unique] Ref`` or ``-> Ref.proj(new='old', ...)``.

    ``ref`` is the dotted name of the referenced table as written
    (``Subject``, ``lab.Subject``, ``master``); ``renames`` maps each new
    attribute name in this table to the parent's attribute name.
    """

    ref: str
    in_key: bool
    nullable: bool = False
    unique: bool = False
    renames: tuple[tuple[str, str], ...] = ()
    line: int = 0


@dataclass(frozen=True)
class IndexSpec:
    attributes: tuple[str, ...]
    unique: bool = False
    line: int = 0


@dataclass(frozen=True)
class TableDefinition:
    comment: str = ""
    items: tuple[AttributeSpec | ForeignKeySpec, ...] = ()  # in declaration order
    indexes: tuple[IndexSpec, ...] = field(default=())

    @property
    def attributes(self) -> tuple[AttributeSpec, ...]:
        return tuple(i for i in self.items if isinstance(i, AttributeSpec))

    @property
    def foreign_keys(self) -> tuple[ForeignKeySpec, ...]:
        return tuple(i for i in self.items if isinstance(i, ForeignKeySpec))
