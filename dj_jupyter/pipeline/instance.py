"""``dj.Instance``: a connection of its own with its own settings, apart from ``dj.conn()``.

DataJoint 2.x's way to work with several databases (or tenants) in one process: each
instance holds a ``config`` and a ``connection``, and makes schemas and free tables bound to
that connection. Here the instance's ``config`` decides the connection (backend, host, port,
user, password, TLS); the behaviour settings (``safemode``, display, stores) stay those of
``dj.config``.
"""

from __future__ import annotations

from typing import Any

from ..backends.connection import Connection
from ..backends.urls import backend_of_call
from ..settings import Config
from ..tables.table import FreeTable
from .schema import Schema

__all__ = ["Instance"]


class Instance:
    """``dj.Instance(host, user, password, port=None, use_tls=None, backend=None, **settings)``.

    ``settings`` are further config keys, dotted or with ``__`` (``database__name="lab"``).
    """

    def __init__(self, host: str, user: str | None = None, password: str | None = None,
                 port: int | None = None, use_tls: bool | dict | None = None,
                 backend: str | None = None, **settings: Any):
        self.config = Config()
        if backend is not None:
            self.config["database.backend"] = backend
        self.config.update({key.replace("__", "."): value for key, value in settings.items()})
        chosen = backend_of_call(host, user, password, backend, self.config["database.backend"],
                                 self.config.is_set("database.backend"))
        self.connection = Connection(
            host, user, password, port if port is not None else self.config["database.port"],
            backend=chosen, database_name=self.config["database.name"],
            use_tls=use_tls if use_tls is not None else self.config["database.use_tls"])

    def Schema(self, schema_name: str, *, context: dict | None = None,  # noqa: N802 - DataJoint's name
               create_schema: bool = True, create_tables: bool | None = None,
               add_objects: dict | None = None) -> Schema:
        """A schema on this instance's connection."""
        return Schema(schema_name, context, connection=self.connection,
                      create_schema=create_schema, create_tables=create_tables,
                      add_objects=add_objects)

    def FreeTable(self, full_table_name: str) -> FreeTable:  # noqa: N802 - DataJoint's name
        """A table addressed by ``schema.table`` on this instance's connection."""
        return FreeTable(self.connection, full_table_name)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Instance({self.connection!r})"
