"""dj_jupyter: the DataJoint 2.x relational workflow model, at home in Jupyter.

``import dj_jupyter as dj`` gives the DataJoint 2.x user API. The embedded
SQLite default needs nothing installed or started; PostgreSQL and MySQL are a
configuration change away (``dj.config`` or ``dj.Connection(url)``). The
notebook layer loads with ``%load_ext dj_jupyter``.
"""

from __future__ import annotations

from . import errors
from .core.algebra.conditions import AndList, Not
from .core.backends.connection import Connection, conn
from .core.expression import QueryExpression
from .core.schema import Schema, VirtualModule, list_schemas, virtual_schema
from .core.table import FreeTable, Table
from .core.tiers import Computed, Imported, Lookup, Manual, Part
from .errors import (DataJointError, DuplicateError, IntegrityError, MissingAttributeError,
                     UnknownAttributeError)
from .settings import config

__version__ = "0.1.0"

__all__ = [
    "config", "conn", "Connection", "Schema", "VirtualModule", "virtual_schema", "list_schemas",
    "Table", "FreeTable", "Manual", "Lookup", "Imported", "Computed", "Part", "QueryExpression",
    "AndList", "Not", "errors", "DataJointError", "DuplicateError", "IntegrityError",
    "MissingAttributeError", "UnknownAttributeError", "__version__",
]
