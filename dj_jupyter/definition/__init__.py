"""Table definitions: parse text into frozen data, resolve types, render text back."""

from dj_jupyter.definition.model import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
    TypeSpec,
)
from dj_jupyter.definition.parser import parse_definition
from dj_jupyter.definition.render import render_definition, strip_lines
from dj_jupyter.definition.types import CORE_TYPES, is_blob_like, parse_type

__all__ = [
    "CORE_TYPES",
    "AttributeSpec",
    "Default",
    "ForeignKeySpec",
    "IndexSpec",
    "TableDefinition",
    "TypeSpec",
    "is_blob_like",
    "parse_definition",
    "parse_type",
    "render_definition",
    "strip_lines",
]
