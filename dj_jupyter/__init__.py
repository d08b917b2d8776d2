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
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from . import errors
from .display.diagram import bundle as _diagram_bundle
from .errors import (
    DataJointError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    ThreadSafetyError,
    UnknownAttributeError,
)
from .query import presentation as _presentation
from .settings import global_config as config  # refused under DJ_THREAD_SAFE (dj.Instance)
from .version import __version__

__author__ = "dj_jupyter contributors"
logger = logging.getLogger("dj_jupyter")  # dj.logger, as in DataJoint: the package's logger

_LAZY = {
    "conn": ".backends.connection",
    "Connection": ".backends.connection",
    "Schema": ".pipeline.schema",
    "VirtualModule": ".pipeline.schema",
    "virtual_schema": ".pipeline.schema",
    "list_schemas": ".pipeline.schema",
    "Table": ".tables.table",
    "FreeTable": ".tables.table",
    "Manual": ".pipeline.tiers",
    "Lookup": ".pipeline.tiers",
    "Imported": ".pipeline.tiers",
    "Computed": ".pipeline.tiers",
    "Part": ".pipeline.tiers",
    "QueryExpression": ".query.expression",
    "AndList": ".query.operands",
    "Not": ".query.operands",
    "Top": ".query.operands",
    "U": ".query.expression",
    "Codec": ".objects.codecs",
    "get_codec": ".objects.codecs",
    "list_codecs": ".objects.codecs",
    "Diagram": ".display.diagram.model",
    "preview": ".jupyter.preview",
    "PopulatePanel": ".jupyter.populate_panel",
    "export_module": ".populate.export",
    "alias_datajoint": ".compat",
    # DataJoint 2.x's other public names
    "Instance": ".pipeline.instance",
    "Entry": ".pipeline.tiers",
    "Ingest": ".pipeline.tiers",
    "Compute": ".pipeline.tiers",
    "AutoPopulate": ".populate.autopopulate",
    "ValidationResult": ".tables.insert",
    "ObjectRef": ".objects.codecs.builtin",
    "NpyRef": ".objects.codecs.builtin",
    "take_home": ".pipeline.take_home",
    "open_home": ".pipeline.take_home",
    "push_home": ".pipeline.take_home",
    "MatCell": ".objects.codecs.mym",  # the MATLAB cell and struct arrays a <blob> reads as
    "MatStruct": ".objects.codecs.mym",
}
_SUBMODULES = {"cli": ".cli", "utils": ".utils"}  # modules loaded on first use: dj.cli

__all__ = [
    "config", "conn", "Connection", "Schema", "VirtualModule", "virtual_schema", "list_schemas",
    "Table", "FreeTable", "Manual", "Lookup", "Imported", "Computed", "Part", "QueryExpression",
    "AndList", "Not", "Top", "U", "Codec", "get_codec", "list_codecs", "Diagram", "PopulatePanel",
    "preview", "errors", "DataJointError", "DuplicateError", "IntegrityError",
    "MissingAttributeError", "UnknownAttributeError", "__version__", "export_module",
    "alias_datajoint", "Instance", "Entry", "Ingest", "Compute", "AutoPopulate",
    "ValidationResult", "ObjectRef", "NpyRef", "ThreadSafetyError", "logger", "cli", "__author__",
    "take_home", "open_home", "push_home", "MatCell", "MatStruct",
]
_SUBMODULES["deploy"] = ".pipeline.deploy"  # dj.deploy.set_replica_identity
__all__ += ["deploy"]


def __getattr__(name: str) -> Any:
    relative = _SUBMODULES.get(name) or _LAZY.get(name)
    if relative is None:
        raise AttributeError(f"module 'dj_jupyter' has no attribute {name!r}")
    module = importlib.import_module(relative, __name__)
    value = module if name in _SUBMODULES else getattr(module, name)
    compat = sys.modules.get(f"{__name__}.compat")  # loaded only if the alias was asked for
    if compat is not None and compat.is_aliased():
        # under the `datajoint` alias: the module is also `datajoint.<name>` in sys.modules, as
        # DataJoint's lazy import leaves it; not cached (and the binding the import system
        # made for dj.cli dropped), so a fresh `import datajoint` registers it again
        compat.alias_loaded_module(module)
        globals().pop(name, None)
    else:
        globals()[name] = value
    return value


# DataJoint's public modules dj.diagram (diagram_active, Diagram) and dj.blob (pack, unpack)
_SUBMODULES.update(diagram=".display.diagram.model", blob=".objects.codecs.blob")
__all__ += ["diagram", "blob"]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .backends.connection import Connection, conn
    from .compat import alias_datajoint
    from .display.diagram.model import Diagram
    from .jupyter.populate_panel import PopulatePanel
    from .jupyter.preview import preview
    from .objects.codecs import Codec, get_codec, list_codecs
    from .objects.codecs.builtin import NpyRef, ObjectRef
    from .objects.codecs.mym import MatCell, MatStruct
    from .pipeline.instance import Instance
    from .pipeline.schema import Schema, VirtualModule, list_schemas, virtual_schema
    from .pipeline.take_home import open_home, push_home, take_home
    from .pipeline.tiers import Compute, Computed, Entry, Imported, Ingest, Lookup, Manual, Part
    from .populate.autopopulate import AutoPopulate
    from .populate.export import export_module
    from .query.expression import QueryExpression, U
    from .query.operands import AndList, Not, Top
    from .tables.insert import ValidationResult
    from .tables.table import FreeTable, Table


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where Jupyter finds the prebuilt lab extension (built from labextension/)."""
    return [{"src": "labextension", "dest": "dj-jupyter-labext"}]


def _diagram_widget(diagram: Any) -> Any:
    """The interactive diagram (the notebook layer, imported when a diagram is first shown)."""
    from .jupyter.diagram import widget_for

    return widget_for(diagram)


def _preview_text(query: Any) -> str:
    from .display.text import preview_text

    return preview_text(query)


def _preview_html(query: Any) -> str:
    from .display.html import preview_html

    return preview_html(query)


# The package root sits above every layer: it wires the presentations (display, jupyter) into
# the hooks of the layers below, which never import them.
_diagram_bundle.use_widget(_diagram_widget)
_presentation.use(text=_preview_text, html=_preview_html)

if os.environ.get("DJ_ALIAS_DATAJOINT"):  # opt-in: `import datajoint` resolves to this package
    from .compat import alias_datajoint, alias_requested

    if alias_requested():
        alias_datajoint()


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
