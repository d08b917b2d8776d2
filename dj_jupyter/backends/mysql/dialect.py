"""MySQL and MariaDB (PyMySQL), as their differences from the base dialect; the fast paths
(COMMIT sent with the last statement, the binary protocol) use :mod:`.binary_protocol`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles

from ..ddl import AlterColumns, ModifyColumn
from ..dialect import Dialect, ErrorKind, ServerSchemas, stored_family

__all__ = ['MySQLDialect']


class MySQLDialect(ServerSchemas, Dialect):
    transactional_ddl = False
    row_value_seeks = False  # MariaDB scans for (a, b) > (x, y); see Dialect

    name = "mysql"
    max_identifier = 64

    def drop_schema_ddl(self, schema):
        return [sa.schema.DropSchema(schema, if_exists=True)]

    def referencing_schemas(self, schema):
        return sa.text(
            "SELECT DISTINCT CONSTRAINT_SCHEMA FROM information_schema.REFERENTIAL_CONSTRAINTS "
            "WHERE UNIQUE_CONSTRAINT_SCHEMA = :schema").bindparams(schema=schema)

    @property
    def keeps_comments(self):
        return True

    def _type_int8(self, args, schema):
        return mysql.TINYINT()

    def _type_float32(self, args, schema):
        return mysql.FLOAT()

    def _type_bool(self, args, schema):
        return mysql.TINYINT()

    def _type_decimal(self, args, schema):
        return mysql.DECIMAL(*args)

    def _type_text(self, args, schema):
        return mysql.LONGTEXT()

    def _type_enum(self, args, schema):
        return mysql.ENUM(*args)

    def _type_datetime(self, args, schema):
        return mysql.DATETIME(fsp=args[0] if args else 0)

    def _type_json(self, args, schema):
        return mysql.JSON()

    def _type_uuid(self, args, schema):
        return mysql.BINARY(16)

    def _type_bytes(self, args, schema):
        return mysql.LONGBLOB()

    collation = "utf8mb4_bin"

    def _default_sa_dialect(self):
        from sqlalchemy.dialects.mysql import pymysql

        return pymysql.dialect(paramstyle="format")

    def adapt_to_server(self, sa_dialect: Any) -> None:
        super().adapt_to_server(sa_dialect)
        # A binary NO PAD collation compares strings as SQLite and PostgreSQL do: case and
        # trailing spaces are significant. MariaDB and MySQL 8 name it differently.
        if getattr(sa_dialect, "is_mariadb", False):
            self.collation = "utf8mb4_nopad_bin"
        elif (getattr(sa_dialect, "server_version_info", None) or (0,)) >= (8, 0):
            self.collation = "utf8mb4_0900_bin"

    @property
    def alters_in_place(self):
        return True

    def alter_statements(self, target, added, dropped, modified, recommented,
                         table_comment=False, renamed=None):
        """One ALTER TABLE for every change: MySQL commits each DDL statement on its own, so
        several statements could leave an alter half done. A renamed column is changed by
        ``CHANGE COLUMN old <new specification>`` in that same statement."""
        return [AlterColumns(target, dropped, added, [*modified, *recommented], table_comment,
                             renamed)]

    def table_options(self):
        return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
                "mysql_collate": self.collation}

    def binder(self, spec):
        family = stored_family(spec)
        if family in ("datetime", "date", "decimal"):
            return None
        return super().binder(spec)

    def read_column(self, column, spec):
        """A float32 is read as a DOUBLE: MariaDB writes FLOAT values as text with only six
        significant digits (1000001 arrives as 1e+06); the double holds the float exactly."""
        if stored_family(spec) == "float32":
            return sa.cast(column, mysql.DOUBLE())
        return column

    def decoder(self, spec):
        family = stored_family(spec)
        if family in ("date", "datetime", "decimal"):
            return None
        return super().decoder(spec)

    def insert_from_select(self, insert, names, select):
        return insert.from_select(list(names), select)

    def insert_skipping_duplicates(self, table, key=None):
        # MySQL cannot aim ON DUPLICATE KEY at one index: a clash on another unique index is
        # skipped too, as in DataJoint on MySQL.
        stmt = mysql.insert(table)
        first = next(iter(table.primary_key.columns))
        # `pk = pk`: a no-op. Assigning the inserted value instead would rewrite the primary
        # key of the existing row when the conflict is on a secondary unique index.
        return stmt.on_duplicate_key_update({first.name: first})

    def insert_replacing(self, table, key, columns):
        stmt = mysql.insert(table)
        updates = {c: stmt.inserted[c] for c in columns if c not in key}
        if not updates:
            return self.insert_skipping_duplicates(table)
        return stmt.on_duplicate_key_update(updates)

    def classify(self, error):
        orig = getattr(error, "orig", error)
        code = orig.args[0] if getattr(orig, "args", None) else None
        kinds = {
            1062: ErrorKind.DUPLICATE,
            1451: ErrorKind.FOREIGN_KEY,
            1452: ErrorKind.FOREIGN_KEY,
            1048: ErrorKind.NOT_NULL,
            1364: ErrorKind.NOT_NULL,
            1264: ErrorKind.OUT_OF_RANGE,
            1406: ErrorKind.OUT_OF_RANGE,
            1366: ErrorKind.BAD_VALUE,
            1265: ErrorKind.BAD_VALUE,
            1146: ErrorKind.MISSING_TABLE,
            1044: ErrorKind.ACCESS_DENIED,  # on a database
            1142: ErrorKind.ACCESS_DENIED,  # a command on a table
            1143: ErrorKind.ACCESS_DENIED,  # a command on a column
            1227: ErrorKind.ACCESS_DENIED,  # a global privilege
            2006: ErrorKind.LOST_CONNECTION,
            2013: ErrorKind.LOST_CONNECTION,
            2003: ErrorKind.LOST_CONNECTION,
            0: ErrorKind.LOST_CONNECTION,
        }
        return kinds.get(code, ErrorKind.OTHER)

    def tls_options(self, use_tls):
        # PyMySQL: a non-empty ``ssl`` dict turns TLS on (no CA given: encrypted, unverified,
        # as DataJoint's use_tls=True); ``ssl_disabled`` turns it off; a dict is passed as is.
        if use_tls is None:
            return {}
        if isinstance(use_tls, dict):
            return {"ssl": dict(use_tls) or {"check_hostname": False}}
        return {"ssl": {"check_hostname": False}} if use_tls else {"ssl_disabled": True}

    def engine_options(self):
        from pymysql.constants import CLIENT

        from .binary_protocol import BinaryParamsCursor

        # MULTI_STATEMENTS carries a transaction's last statement and its COMMIT in one round
        # trip (run_last); FOUND_ROWS, which SQLAlchemy sets unless told a flag, stays. The
        # cursor sends large bytes values unescaped, through prepared statements (4-6x
        # faster blob writes than PyMySQL's hex literals, which the server parses slowly).
        # connection.charset (DataJoint's, given to PyMySQL) replaces utf8mb4, the tables' own.
        if not self.fast_paths:  # PyMySQL's own cursor, one statement per round trip
            return {"connect_args": {"charset": self.charset or "utf8mb4",
                                     "client_flag": CLIENT.FOUND_ROWS},
                    "paramstyle": "format"}
        return {"connect_args": {"charset": self.charset or "utf8mb4",
                                 "client_flag": CLIENT.MULTI_STATEMENTS | CLIENT.FOUND_ROWS,
                                 "cursorclass": BinaryParamsCursor},
                "paramstyle": "format"}

    def run_last(self, cursor, sql, parameters, *, chain=False):
        if not self.fast_paths:
            return super().run_last(cursor, sql, parameters, chain=chain)
        from .binary_protocol import COMMIT_SUFFIX  # needs PyMySQL, as this path does

        # the server skips COMMIT after an error
        cursor.execute(sql + COMMIT_SUFFIX, parameters)
        while cursor.nextset():
            pass
        if not chain:  # for do_commit below: SQLAlchemy's commit has nothing left to send
            cursor.connection._dj_committed = True

    # With autocommit off, every COMMIT is chained: the next statement opens the next
    # transaction. In series, that spares SQLAlchemy's begin and commit per transaction.
    can_chain_commits = True

    def commit_and_chain(self, cursor):
        cursor.execute("COMMIT")

    def current_timestamp_default(self, fsp):
        return f"CURRENT_TIMESTAMP({fsp})" if fsp else "CURRENT_TIMESTAMP"

    def now(self):
        return sa.func.now(sa.literal_column("3"))

    def seconds_from_now(self, seconds):
        microseconds = int(round(float(seconds) * 1e6))
        return sa.func.timestampadd(sa.literal_column("MICROSECOND"), microseconds, self.now())

    def configure_engine(self, engine):
        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
            cursor.execute("SET SESSION time_zone = '+00:00'")
            cursor.close()

        if not self.fast_paths:  # run_last leaves the COMMIT to SQLAlchemy: keep its own
            return

        # After run_last the server has committed already: a second COMMIT would only cost a
        # round trip. (The server's "in transaction" flag cannot tell: it is off while a
        # REPEATABLE READ snapshot is still open, and only COMMIT releases that.)
        plain_commit = engine.dialect.do_commit

        def do_commit(dbapi_connection):
            # SQLAlchemy passes its pool's proxy: the flag lives on the driver's connection
            driver = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
            if getattr(driver, "_dj_committed", False):
                driver._dj_committed = False
                return
            plain_commit(dbapi_connection)

        engine.dialect.do_commit = do_commit


@compiles(AlterColumns, "mysql")
def _compile_alter_columns_mysql(element: AlterColumns, compiler: Any, **kw: Any) -> str:
    table, quote = element.table, compiler.preparer.quote
    actions = [f"DROP COLUMN {quote(name)}" for name in element.dropped]
    actions += [f"ADD COLUMN {compiler.get_column_specification(table.c[name])}"
                for name in element.added]  # MySQL's specification includes the comment
    actions += [f"CHANGE COLUMN {quote(old)} {compiler.get_column_specification(table.c[new])}"
                for new, old in element.renamed.items()]
    actions += [f"MODIFY COLUMN {compiler.get_column_specification(table.c[name])}"
                for name in element.modified if name not in element.renamed]
    if element.table_comment:
        comment = compiler.sql_compiler.render_literal_value(table.comment or "", sa.String())
        actions.append(f"COMMENT = {comment}")
    return f"ALTER TABLE {compiler.preparer.format_table(table)} {', '.join(actions)}"


@compiles(ModifyColumn, "mysql")
def _compile_modify_column_mysql(element: ModifyColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} MODIFY COLUMN {compiler.get_column_specification(element.column)}"
