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
from ..settings import DEFAULT_PORTS, Config
from ..tables.table import FreeTable
from .schema import Schema

__all__ = ["Instance"]


class Instance:
    """``dj.Instance(host, user, password, port=None, use_tls=None, backend=None, **settings)``.

    Without ``port``: the configured ``database.port``, or the backend's default (3306,
    5432) when ``backend`` names another backend than the configured one.

    ``settings`` are further config keys, dotted or with ``__`` (``database__name="lab"``).
    """

    def __init__(self, host: str, user: str | None = None, password: str | None = None,
                 port: int | None = None, use_tls: bool | dict | None = None,
                 backend: str | None = None, **settings: Any):
        self.config = Config()
        changes = {key.replace("__", "."): value for key, value in settings.items()}
        if backend is not None:
            if backend != self.config["database.backend"]:
                changes.setdefault("database.port", None)  # the configured port is another's
            changes["database.backend"] = backend
        self.config.update(changes)
        chosen = backend_of_call(host, user, password, backend, self.config["database.backend"],
                                 self.config.is_set("database.backend"))
        if port is None:
            port = self.config["database.port"] or DEFAULT_PORTS.get(chosen or "sqlite")
        self.connection = Connection(
            host, user, password, port,
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
