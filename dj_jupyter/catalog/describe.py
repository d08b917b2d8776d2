"""``Table.describe()``: rebuild a definition, from the stored table, that declares it again."""

from __future__ import annotations

from typing import Any

from ..definition.model import AttributeSpec, ForeignKeySpec, IndexSpec, TableDefinition
from ..definition.render import render_definition
from . import naming

__all__ = ["describe", "stored_definition"]


def stored_definition(table: Any, context: dict | None = None) -> TableDefinition:
    info = table.info
    owner_of: dict[str, Any] = {}
    for fk in info.foreign_keys:
        for child, _ in fk.attr_map:
            owner_of.setdefault(child, fk)
    items: list[AttributeSpec | ForeignKeySpec] = []
    emitted = set()
    for attribute in info.heading.attributes_:
        fk = owner_of.get(attribute.name)
        if fk is None:
            items.append(AttributeSpec(attribute.name, attribute.type, attribute.in_key,
                                       attribute.nullable, attribute.default, attribute.comment))
        elif id(fk) not in emitted:
            emitted.add(id(fk))
            items.append(ForeignKeySpec(
                ref=_reference(table, fk.parent, context), in_key=fk.primary,
                nullable=fk.nullable, unique=fk.unique,
                renames=tuple((c, p) for c, p in fk.attr_map if c != p)))
    indexes = tuple(IndexSpec(i.attributes, i.unique) for i in info.heading.indexes)
    return TableDefinition(info.comment, tuple(items), indexes)


def describe(table: Any, context: dict | None = None) -> str:
    return render_definition(stored_definition(table, context))


def _reference(table: Any, parent: str, context: dict | None) -> str:
    """How the declaring module would name the parent: ``master``, a class, or ``schema.Class``."""
    master = getattr(type(table), "_master", None)
    if master is not None and master().full_name == parent:
        return "master"
    for name, value in (context or {}).items():
        if isinstance(value, type) and getattr(value, "_is_bound", lambda: False)() \
                and value().full_name == parent:
            return name
    schema, _, name = parent.partition(".")
    master_name = naming.master_of(name)
    class_name = naming.class_name_of(name)
    if master_name:
        class_name = f"{naming.class_name_of(master_name)}.{class_name}"
    return class_name if schema == table.database else f"{schema}.{class_name}"
