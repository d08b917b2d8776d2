"""Which table a name in a definition means: looked up where the class is declared.

A foreign key ``-> Subject`` names a class in the namespace that declares the table (the
cell or module, found by :func:`caller_namespace`, or the ``context`` given to ``@schema``).
"""

from __future__ import annotations

import inspect
from typing import Any

from ..definition.model import ForeignKeySpec
from ..errors import DefinitionError

__all__ = ["caller_namespace", "caller_locals", "resolve_parent"]


def caller_locals() -> dict:
    """The local namespace itself (not a copy) of the first frame outside dj_jupyter: a
    module's or a notebook's globals, or a function's locals (names put there show in its
    ``locals()``), where ``make_classes()`` puts the classes it makes."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__", "").startswith("dj_jupyter"):
        frame = frame.f_back
    return {} if frame is None else frame.f_locals


def caller_namespace() -> dict:
    """Globals and locals of the first frame outside dj_jupyter (where the class is defined)."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__", "").startswith("dj_jupyter"):
        frame = frame.f_back
    if frame is None:
        return {}
    return {**frame.f_globals, **frame.f_locals}


def resolve_parent(spec: ForeignKeySpec, context: dict) -> Any:
    """The table a foreign key names, looked up in the declaring namespace."""
    head, *rest = spec.ref.split(".")
    if head not in context:
        raise DefinitionError(
            f"foreign key -> {spec.ref}: {head!r} is not defined where this table is declared; "
            "define or import the parent table first", line=spec.line or None)
    target = context[head]
    for part in rest:
        target = getattr(target, part, None)
        if target is None:
            raise DefinitionError(f"foreign key -> {spec.ref}: {part!r} not found",
                                  line=spec.line or None)
    if isinstance(target, type) and _is_table(target):
        if not target._is_bound():  # type: ignore[attr-defined]  # a Table class
            raise DefinitionError(f"foreign key -> {spec.ref}: {target.__name__} is not declared "
                                  "yet; decorate it with @schema before its children",
                                  line=spec.line or None)
        return target()
    if _is_table(target):
        return target
    raise DefinitionError(f"foreign key -> {spec.ref} names a {type(target).__name__}, not a "
                          "table class", line=spec.line or None)


def _is_table(value: Any) -> bool:
    """A stored table or table class (known by what it has: this module sits below Table)."""
    return all(hasattr(value, name) for name in ("_is_bound", "full_table_name", "definition"))
