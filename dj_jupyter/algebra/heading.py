"""Headings: the ordered attributes of a table or query result.

A :class:`Heading` is immutable; projections and joins build new ones. Each
:class:`Attribute` knows its declared type, whether it is in the primary key,
its default and comment, and its *lineage* — the ``schema.table.attribute``
where it was born — which semantic matching compares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..definition.model import Default, IndexSpec, TypeSpec

__all__ = ["Attribute", "Heading", "ForeignKey", "TableInfo"]

_NUMERIC = {"int8", "int16", "int32", "int64", "float32", "float64", "decimal", "bool"}
_STRING = {"char", "varchar", "enum", "text"}


@dataclass(frozen=True)
class Attribute:
    name: str
    type: TypeSpec
    in_key: bool
    nullable: bool = False
    default: Default | None = None
    comment: str = ""
    lineage: str | None = None
    sql_type: str = ""
    expression: Any = None  # a computed attribute's SQL (set by projections)

    @property
    def family(self) -> str:
        """The core type family (natives resolved to what they are stored as)."""
        if self.type.name == "native":
            core = self.type.args[0] if self.type.args else "text"
            return core.split("(")[0]
        return self.type.name

    @property
    def original_type(self) -> str:
        """The type as the definition wrote it (``uuid``, ``int32``, ``<blob>``), as in
        DataJoint, whatever the backend stores it as."""
        return self.type.text

    @property
    def numeric(self) -> bool:
        return self.family in _NUMERIC

    @property
    def string(self) -> bool:
        return self.family in _STRING

    @property
    def json(self) -> bool:
        return self.family == "json"

    @property
    def uuid(self) -> bool:
        return self.family == "uuid"

    @property
    def codec(self) -> str | None:
        return self.type.args[0] if self.type.is_codec else None

    @property
    def store(self) -> str | None:
        return self.type.args[1] if self.type.is_codec else None

    @property
    def is_hidden(self) -> bool:
        return self.name.startswith("_")

    @property
    def dtype(self) -> str:
        """numpy dtype used by ``to_arrays``: int64/float64 when no NULLs are possible."""
        if self.family.startswith("int") and not self.nullable:
            return "int64"
        if self.family.startswith("float"):
            return "float64"
        if self.family == "bool" and not self.nullable:
            return "bool"
        return "O"

    def renamed(self, name: str) -> Attribute:
        return replace(self, name=name)


@dataclass(frozen=True)
class Heading:
    """Ordered attributes; primary-key attributes first by convention of declaration."""

    attributes_: tuple[Attribute, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    _by_name: dict = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.attributes_})

    # mapping-like access
    def __getitem__(self, name: str) -> Attribute:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self.attributes_)

    @property
    def attributes(self) -> Mapping[str, Attribute]:
        return self._by_name

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes_]

    @property
    def as_dtype(self):
        """The numpy structured dtype of a row (as ``to_arrays()`` gives it), as DataJoint's
        ``heading.as_dtype``: e.g. to build records to insert."""
        import numpy as np

        return np.dtype([(a.name, a.dtype) for a in self.attributes_])

    @property
    def primary_key(self) -> list[str]:
        return [a.name for a in self.attributes_ if a.in_key]

    @property
    def secondary_attributes(self) -> list[str]:
        return [a.name for a in self.attributes_ if not a.in_key]

    @property
    def lineages(self) -> dict[str, str | None]:
        return {a.name: a.lineage for a in self.attributes_}

    def project(self, keep: Iterable[str], renames: Mapping[str, str] | None = None) -> Heading:
        """A heading with the ``keep`` attributes plus ``new=old`` renames, in heading order."""
        kept = set(keep)
        new_names: dict[str, list[str]] = {}
        for new, old in (renames or {}).items():
            new_names.setdefault(old, []).append(new)
        result = []
        for attribute in self.attributes_:
            if attribute.name in kept:
                result.append(attribute)
            result.extend(attribute.renamed(new) for new in new_names.get(attribute.name, ()))
        return Heading(tuple(result))

    def with_attributes(self, attributes: Iterable[Attribute]) -> Heading:
        return Heading(tuple(attributes), self.indexes)

    def __repr__(self) -> str:
        lines = []
        for attribute in self.attributes_:
            if not attribute.in_key and lines and "---" not in lines:
                lines.append("---")
            comment = f"  # {attribute.comment}" if attribute.comment else ""
            default = " = null" if attribute.nullable else ""
            lines.append(f"{attribute.name}{default} : {attribute.type.text}{comment}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of ``child`` referencing ``parent`` (both ``schema.table``)."""

    child: str
    parent: str
    attr_map: tuple[tuple[str, str], ...]  # (child attribute, parent attribute)
    primary: bool = False  # every child attribute is in the child's primary key
    nullable: bool = False
    unique: bool = False

    @property
    def renamed(self) -> bool:
        return any(child != parent for child, parent in self.attr_map)

    @property
    def child_attributes(self) -> tuple[str, ...]:
        return tuple(child for child, _ in self.attr_map)


@dataclass(frozen=True)
class TableInfo:
    """Everything the core knows about one stored table."""

    schema: str
    name: str
    heading: Heading
    comment: str = ""
    foreign_keys: tuple[ForeignKey, ...] = ()
    hidden: tuple[str, ...] = ()  # platform columns outside the heading (``_job_version``...)

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"
