"""Table classes a schema works with besides the decorated ones: the parts a master declares
or inherits, and classes made for the tables of an existing schema (``make_classes``,
virtual modules)."""

from __future__ import annotations

from typing import Any

from ..catalog import naming
from ..catalog.naming import master_of_full_name
from .tiers import Computed, Imported, Lookup, Manual, Part

__all__ = ["TIERS", "parts_of", "classes_for"]

TIERS = {"Manual": Manual, "Lookup": Lookup, "Imported": Imported, "Computed": Computed,
         "Part": Part}


def parts_of(cls: type) -> list[type]:
    """The parts of master ``cls`` in definition order, its own and inherited. An inherited
    part becomes a subclass nested in ``cls`` (``D(B)`` gets its own ``D.C``), so the base
    master's part stays bound to the base."""
    names: dict[str, None] = {}
    for base in reversed(cls.__mro__):
        for name, value in vars(base).items():
            if name[:1].isupper() and isinstance(value, type) and issubclass(value, Part):
                names[name] = None
    parts = []
    for name in names:
        part = getattr(cls, name)
        if name not in vars(cls):
            part = type(name, (part,), {"__module__": cls.__module__,
                                        "__qualname__": f"{cls.__qualname__}.{name}"})
            setattr(cls, name, part)
        parts.append(part)
    return parts


def classes_for(schema: Any) -> dict[str, type]:
    """A class per table of the (active) ``schema``, masters with their parts nested."""
    made: dict[str, type] = {}
    by_table: dict[str, type] = {}
    for table_name in schema.list_tables():
        master = master_of_full_name(f"{schema.database}.{table_name}")
        tier = naming.tier_of(table_name)
        name = naming.class_name_of(table_name)
        cls: Any = type(name, (TIERS[tier],), {"_table_name": table_name, "__module__": __name__})
        if master is not None:
            owner = by_table[master.partition(".")[2]]
            cls._master = owner
            setattr(owner, name, cls)
        else:
            made[name] = cls
        cls._schema = schema
        by_table[table_name] = cls
    return made
