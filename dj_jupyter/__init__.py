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
from .errors import (
    DataJointError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    UnknownAttributeError,
)
from .settings import config

__version__ = "0.1.0"

_LAZY = {
    "conn": ".core.backends.connection",
    "Connection": ".core.backends.connection",
    "Schema": ".core.schema",
    "VirtualModule": ".core.schema",
    "virtual_schema": ".core.schema",
    "list_schemas": ".core.schema",
    "Table": ".core.table",
    "FreeTable": ".core.table",
    "Manual": ".core.tiers",
    "Lookup": ".core.tiers",
    "Imported": ".core.tiers",
    "Computed": ".core.tiers",
    "Part": ".core.tiers",
    "QueryExpression": ".core.expression",
    "AndList": ".core.algebra.conditions",
    "Not": ".core.algebra.conditions",
    "Top": ".core.algebra.conditions",
    "U": ".core.expression",
    "Codec": ".core.codecs",
    "get_codec": ".core.codecs",
    "list_codecs": ".core.codecs",
    "Diagram": ".core.diagram",
    "preview": ".jupyter.preview",
    "PopulatePanel": ".jupyter.populate_panel",
}

__all__ = [
    "config", "conn", "Connection", "Schema", "VirtualModule", "virtual_schema", "list_schemas",
    "Table", "FreeTable", "Manual", "Lookup", "Imported", "Computed", "Part", "QueryExpression",
    "AndList", "Not", "Top", "U", "Codec", "get_codec", "list_codecs", "Diagram", "PopulatePanel",
    "preview", "errors", "DataJointError", "DuplicateError", "IntegrityError",
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
    from .core.algebra.conditions import AndList, Not, Top
    from .core.backends.connection import Connection, conn
    from .core.codecs import Codec, get_codec, list_codecs
    from .core.diagram import Diagram
    from .core.expression import QueryExpression, U
    from .core.schema import Schema, VirtualModule, list_schemas, virtual_schema
    from .core.table import FreeTable, Table
    from .core.tiers import Computed, Imported, Lookup, Manual, Part
    from .jupyter.populate_panel import PopulatePanel
    from .jupyter.preview import preview


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where Jupyter finds the prebuilt lab extension (built from labextension/)."""
    return [{"src": "labextension", "dest": "dj-jupyter-labext"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext dj_jupyter``: register the notebook magics (imports IPython only now)."""
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext dj_jupyter``: remove the display formatters (IPython keeps magics)."""
    from .jupyter.formatters import unregister
    from .jupyter.populate_display import unregister as unregister_populate

    unregister(ipython)
    unregister_populate(ipython)
