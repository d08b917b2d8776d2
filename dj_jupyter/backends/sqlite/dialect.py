"""SQLite: the embedded default, as its differences from the base dialect.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..dialect import Dialect
from .functions import register_sqlite_functions

__all__ = ['SQLiteDialect']


class SQLiteDialect(Dialect):
    worker_leases = True

    def auto_increment_type(self, sa_type: Any) -> Any:
        return sa.Integer()  # only an INTEGER key is numbered by SQLite (the rowid)

    def raw_sql(self, sql: str, has_args: bool) -> str:
        # DataJoint's SQL uses %s; sqlite3 takes ?. Only when nothing else marks a parameter.
        if has_args and "%s" in sql and "?" not in sql:
            return sql.replace("%s", "?")
        return sql

    def engine_options(self) -> dict[str, Any]:
        return {"connect_args": {"timeout": 60, "check_same_thread": False}}

    def configure_engine(self, engine: sa.Engine) -> None:
        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA busy_timeout = 60000")
            cursor.close()
            register_sqlite_functions(dbapi_connection)  # what portable SQL fragments need

        @sa.event.listens_for(engine, "begin")
        def on_begin(connection):
            # Straight to the driver: a transaction starts for every populated key.
            mode = connection.info.get("begin_mode", "")
            connection.connection.driver_connection.execute(f"BEGIN {mode}".strip())
