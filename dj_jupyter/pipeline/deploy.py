"""``dj.deploy``: settings of a deployed pipeline's database that a deploy hook re-applies.

:func:`set_replica_identity` is DataJoint 2.x's: PostgreSQL's ``REPLICA IDENTITY`` decides how
much of an old row UPDATE and DELETE write to the write-ahead log. Some change-data-capture
consumers (e.g. Databricks Lakehouse Sync) need the whole old row (``full``) and silently skip
tables without it; ``default`` logs the primary key only. Re-applying a mode changes nothing,
so a deploy hook may call it on every release. Other backends have no replica identity and
are refused.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..backends.connection import Connection
from ..errors import DataJointError
from ..tables.table import Table
from .schema import Schema

__all__ = ["set_replica_identity", "REPLICA_IDENTITY_MODES"]

REPLICA_IDENTITY_MODES = ("default", "full")


def set_replica_identity(target: Schema | Table | type[Table], mode: str = "full",
                         dry_run: bool = True) -> dict[str, Any]:
    """Set ``REPLICA IDENTITY`` of every table of a schema, or of one table (class or instance).

    ``dry_run=True`` (the default) only lists the DDL. Returns ``tables_analyzed``,
    ``tables_modified`` (0 in a dry run) and ``ddl`` (the statements, run or to run).
    Raises :class:`DataJointError` for another mode, target or backend, before any change.
    """
    chosen = mode.lower() if isinstance(mode, str) else mode
    if chosen not in REPLICA_IDENTITY_MODES:
        raise DataJointError(f"mode must be 'default' or 'full'; got {mode!r}")
    connection, addresses = _tables_of(target)
    made = [connection.dialect.replica_identity_statement(_sa_table(connection, *a), chosen)
            for a in addresses]
    statements = [statement for statement in made if statement is not None]
    if len(statements) < len(made):
        raise DataJointError(
            f"set_replica_identity is PostgreSQL-only: the {connection.backend} backend has no "
            "REPLICA IDENTITY (its change-data-capture reads whole rows already); call it on a "
            "schema or table on PostgreSQL")
    result: dict[str, Any] = {"tables_analyzed": len(statements), "tables_modified": 0,
                              "ddl": [str(s.compile(dialect=connection.engine.dialect))
                                      for s in statements]}
    if not dry_run:
        for statement in statements:
            connection.execute(statement)
            result["tables_modified"] += 1
    return result


def _tables_of(target: Any) -> tuple[Connection, list[tuple[str, str]]]:
    """The connection and (schema, table) names a target covers."""
    if isinstance(target, Schema):
        database = target.database
        if database is None:
            raise DataJointError("Schema is not activated: call schema.activate('name') before "
                                 "set_replica_identity()")
        return target.connection, [(database, name) for name in target.list_tables()]
    if isinstance(target, type) and issubclass(target, Table):
        target = target()
    if isinstance(target, Table):
        return target.connection, [(target.database, target.table_name)]
    raise DataJointError(f"target must be a Schema or Table class/instance; got "
                         f"{type(target).__name__}")


def _sa_table(connection: Connection, schema: str, name: str) -> sa.Table:
    """The table, its names always quoted (the DDL reads as ``full_table_name`` does)."""
    sa_schema, address = connection.dialect.table_address(schema, name)
    quoted = sa.sql.quoted_name
    return sa.Table(quoted(address, True), sa.MetaData(),
                    schema=quoted(sa_schema, True) if sa_schema else None)
