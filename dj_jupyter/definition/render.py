"""Render a :class:`TableDefinition` back to definition text.

The law: ``parse_definition(render_definition(d))`` equals ``d`` once line numbers
are stripped (:func:`strip_lines`). Text defaults are double-quoted unless they
read as a number or a boolean, which the parser accepts bare with the same value.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dj_jupyter.definition.model import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
)
from dj_jupyter.definition.types import quote_string

__all__ = ["render_definition", "strip_lines"]

_BARE_SAFE = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?|true|false", re.IGNORECASE)


def render_definition(definition: TableDefinition) -> str:
    """Definition text that parses back to ``definition``."""
    lines = [f"# {definition.comment}"] if definition.comment else []
    lines += [_render_item(i) for i in definition.items if i.in_key]
    lines.append("---")
    lines += [_render_item(i) for i in definition.items if not i.in_key]
    lines += [_render_index(index) for index in definition.indexes]
    return "\n".join(lines) + "\n"


def strip_lines(definition: TableDefinition) -> TableDefinition:
    """The same definition with every line number set to 0, for comparing content."""
    return replace(
        definition,
        items=tuple(replace(item, line=0) for item in definition.items),
        indexes=tuple(replace(index, line=0) for index in definition.indexes),
    )


def _render_item(item: AttributeSpec | ForeignKeySpec) -> str:
    if isinstance(item, ForeignKeySpec):
        return _render_foreign_key(item)
    return _render_attribute(item)


def _render_attribute(attribute: AttributeSpec) -> str:
    text = attribute.name
    if attribute.nullable:
        text += " = null"
    elif attribute.default is not None:
        text += " = " + _render_default(attribute.default)
    text += f" : {attribute.type.text}"
    if attribute.comment:
        text += f"  # {attribute.comment}"
    return text


def _render_default(default: Default) -> str:
    if default.is_expression or _BARE_SAFE.fullmatch(default.value):
        return default.value
    return quote_string(default.value, '"')


def _render_foreign_key(fk: ForeignKeySpec) -> str:
    options = [name for name, on in (("nullable", fk.nullable), ("unique", fk.unique)) if on]
    text = "-> " + (f"[{', '.join(options)}] " if options else "") + fk.ref
    if fk.renames:
        args = ", ".join(f"{new}={quote_string(old, chr(34))}" for new, old in fk.renames)
        text += f".proj({args})"
    return text


def _render_index(index: IndexSpec) -> str:
    prefix = "unique index" if index.unique else "index"
    return f"{prefix}({', '.join(index.attributes)})"
