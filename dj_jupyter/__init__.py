"""dj_jupyter: the DataJoint 2.x relational workflow model, at home in Jupyter.

``import dj_jupyter as dj`` gives the DataJoint 2.x user API. The embedded
SQLite default needs nothing installed or started; PostgreSQL and MySQL are a
configuration change away (``dj.config`` or ``dj.Connection(url)``). The
notebook layer loads with ``%load_ext dj_jupyter``.

Importing the package is light: SQLAlchemy and the rest of the core load on
first use of a name below (``dj.Schema``, ``dj.Manual``, ...).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from .display.diagram import bundle as _diagram_bundle
from .errors import (
    DataJointError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    UnknownAttributeError,
)
from .settings import config
from .version import __version__

_LAZY = {
    "conn": ".backends.connection",
    "Connection": ".backends.connection",
    "Schema": ".tables.schema",
    "VirtualModule": ".tables.schema",
    "virtual_schema": ".tables.schema",
    "list_schemas": ".tables.schema",
    "Table": ".tables.table",
    "FreeTable": ".tables.table",
    "Manual": ".tables.tiers",
    "Lookup": ".tables.tiers",
    "Imported": ".tables.tiers",
    "Computed": ".tables.tiers",
    "Part": ".tables.tiers",
    "QueryExpression": ".query.expression",
    "AndList": ".algebra.conditions",
    "Not": ".algebra.conditions",
    "Top": ".algebra.conditions",
    "U": ".query.expression",
    "Codec": ".objects.codecs",
    "get_codec": ".objects.codecs",
    "list_codecs": ".objects.codecs",
    "Diagram": ".display.diagram.model",
}

__all__ = [
    "config", "conn", "Connection", "Schema", "VirtualModule", "virtual_schema", "list_schemas",
    "Table", "FreeTable", "Manual", "Lookup", "Imported", "Computed", "Part", "QueryExpression",
    "AndList", "Not", "Top", "U", "Codec", "get_codec", "list_codecs", "Diagram",
    "errors", "DataJointError", "DuplicateError", "IntegrityError",
    "MissingAttributeError", "UnknownAttributeError", "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dj_jupyter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .algebra.conditions import AndList, Not, Top
    from .backends.connection import Connection, conn
    from .display.diagram.model import Diagram
    from .objects.codecs import Codec, get_codec, list_codecs
    from .query.expression import QueryExpression, U
    from .tables.schema import Schema, VirtualModule, list_schemas, virtual_schema
    from .tables.table import FreeTable, Table
    from .tables.tiers import Computed, Imported, Lookup, Manual, Part


def _diagram_widget(diagram: Any) -> Any:
    """The interactive diagram (the notebook layer, imported when a diagram is first shown)."""
    from .jupyter.diagram import widget_for

    return widget_for(diagram)


_diagram_bundle.use_widget(_diagram_widget)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dj_jupyter``: register the notebook magics (imports IPython only now)."""
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext dj_jupyter``: remove the display formatters (IPython keeps magics)."""
    from .jupyter.formatters import unregister

    unregister(ipython)
