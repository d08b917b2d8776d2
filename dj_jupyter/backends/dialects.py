"""Every difference between SQLite, PostgreSQL and MySQL/MariaDB, in one place.

A :class:`Dialect` answers the questions the rest of the core asks of a
backend: which SQLAlchemy type stores a core type, where a schema's tables
live, how to insert-or-skip and insert-or-replace, how a driver error is
classified, and how a value is bound and decoded. Nothing outside this module
(and the SQLAlchemy dialect rules it registers) branches on the backend name.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from ..definition.model import TypeSpec
from ..definition.types import core_of
from .sqlite.functions import register_sqlite_functions

__all__ = ["Dialect", "dialect_for", "ErrorKind"]


Convert = Callable[[Any], Any]


class ErrorKind:
    """What a driver error means, independent of the backend."""

    DUPLICATE = "duplicate"
    FOREIGN_KEY = "foreign_key"
    NOT_NULL = "not_null"
    OUT_OF_RANGE = "out_of_range"
    BAD_VALUE = "bad_value"
    LOST_CONNECTION = "lost_connection"
    MISSING_TABLE = "missing_table"
    OTHER = "other"


def _to_bool(value: Any) -> Any:
    return value if value is None else bool(value)


def _rstrip_spaces(value: Any) -> Any:
    return value.rstrip(" ") if isinstance(value, str) else value


def _loads_json(value: Any) -> Any:
    if isinstance(value, (str, bytes, bytearray)):
        return json.loads(value)
    return value


def _uuid_from_bytes(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(bytes=bytes(value))


def _bytes_from_memoryview(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def _float32(value: Any) -> Any:
    if value is None:
        return None
    import numpy as np

    return float(np.float32(value))


def enum_type_name(values: Sequence[str]) -> str:
    """Deterministic PostgreSQL type name for an enum's value list."""
    digest = hashlib.md5("\x1f".join(values).encode()).hexdigest()[:8]
    return f"enum_{digest}"


class Dialect:
    """What differs between backends. Subclasses are written as their differences only.

    The fast paths — commits that open the next transaction (``COMMIT AND CHAIN``), a
    transaction's last statement sent with its ``COMMIT`` (``run_last``), PostgreSQL's
    pipeline mode, MySQL's binary protocol for large values and its skipped second
    ``COMMIT`` — sit behind one seam: ``fast_paths`` (``dj.config["database.fast_paths"]``).
    Off, every backend takes the plain path: a statement, then SQLAlchemy's commit.
    """

    def __init__(self, *, fast_paths: bool = True):
        self.fast_paths = fast_paths

    @property
    def chains_commits(self) -> bool:
        """Whether a commit can open the next transaction at once (``COMMIT AND CHAIN``)."""
        return self.fast_paths and self.can_chain_commits

    #: Whether the server can chain commits at all (used only with the fast paths on).
    can_chain_commits = False

    """The SQLite behaviour is the reference; subclasses state their differences."""

    name = "sqlite"
    paramstyle_positional = True
    max_identifier = 63

    # -- where tables live --------------------------------------------------
    def table_address(self, schema: str, table: str) -> tuple[str | None, str]:
        """(SQLAlchemy schema, table name) of a DataJoint table."""
        return None, f"{schema}.{table}"

    def schema_of_address(self, sa_schema: str | None, name: str) -> tuple[str, str] | None:
        """Inverse of :meth:`table_address` for names found by reflection."""
        if "." not in name:
            return None
        schema, _, table = name.partition(".")
        return schema, table

    def reflect_schema(self, schema: str) -> str | None:
        """The SQLAlchemy schema argument to reflect ``schema``'s tables."""
        return None

    def create_schema_ddl(self, schema: str) -> list[sa.schema.ExecutableDDLElement]:
        return []

    def drop_schema_ddl(self, schema: str) -> list[sa.schema.ExecutableDDLElement]:
        return []

    @property
    def keeps_comments(self) -> bool:
        """Whether column and table comments are stored by the database itself."""
        return False

    # -- types ----------------------------------------------------------------
    def sa_type(self, spec: TypeSpec, schema: str) -> sa.types.TypeEngine:
        """The column type of a stored (core or native) type; codec types are resolved to
        theirs by the caller (``objects.codecs.storage_spec``): backends know no codecs."""
        family, args = core_of(spec)
        maker = getattr(self, f"_type_{family}", None)
        if maker is None:
            raise ValueError(f"no storage for type {spec.text!r} on {self.name}")
        return maker(args, schema)

    def _type_int8(self, args, schema):
        return sa.SmallInteger()

    def _type_int16(self, args, schema):
        return sa.SmallInteger()

    def _type_int32(self, args, schema):
        return sa.Integer()

    def _type_int64(self, args, schema):
        return sa.BigInteger()

    def _type_float32(self, args, schema):
        return sa.REAL()

    def _type_float64(self, args, schema):
        return sa.Double()

    def _type_bool(self, args, schema):
        return sa.Boolean(create_constraint=False)

    def _type_decimal(self, args, schema):
        precision, scale = args
        # NUMERIC affinity keeps up to 15 significant digits exactly; beyond that, text.
        return sa.Numeric(precision, scale) if precision <= 15 else sa.Text()

    def _type_char(self, args, schema):
        return sa.CHAR(args[0])

    def _type_varchar(self, args, schema):
        return sa.String(args[0])

    def _type_text(self, args, schema):
        return sa.Text()

    def _type_enum(self, args, schema):
        longest = max(len(v) for v in args)
        return sa.Enum(*args, native_enum=False, create_constraint=True, length=longest,
                       name=enum_type_name(args))

    def _type_date(self, args, schema):
        return sa.Date()

    def _type_datetime(self, args, schema):
        return sa.DateTime()

    def _type_time(self, args, schema):
        return sa.Time()

    def _type_json(self, args, schema):
        return sa.Text()  # a JSON type name would get NUMERIC affinity in SQLite

    def _type_uuid(self, args, schema):
        return sa.LargeBinary()

    def _type_bytes(self, args, schema):
        return sa.LargeBinary()

    def table_options(self) -> dict[str, Any]:
        return {}

    _sa_dialect: Any = None

    def adapt_to_server(self, sa_dialect: Any) -> None:
        """Adjust to the server met on connecting (its flavour and version)."""
        self._sa_dialect = sa_dialect

    @property
    def sa_dialect(self) -> Any:
        """The SQLAlchemy dialect statements compile with (a default one before connecting)."""
        if self._sa_dialect is None:
            self._sa_dialect = self._default_sa_dialect()
        return self._sa_dialect

    def _default_sa_dialect(self) -> Any:
        from sqlalchemy.dialects.sqlite import pysqlite

        return pysqlite.dialect()

    # -- values ---------------------------------------------------------------
    def binder(self, spec: TypeSpec) -> Convert | None:
        """Python value (validated, not None) → what the driver takes; None: the value as is."""
        family = _family(spec)
        if family == "uuid":
            return lambda v: v.bytes
        if family == "json":
            return _dump_json
        if family == "datetime":
            return _iso_datetime
        if family == "date":
            return lambda v: v.isoformat()
        if family == "decimal":
            return str  # NUMERIC affinity turns the text into a number; wide decimals stay text
        return None

    def decoder(self, spec: TypeSpec) -> Convert | None:
        """Driver value → Python value; None when the driver's value is already right."""
        family = _family(spec)
        if family == "decimal":
            return _decimal_decoder(spec)
        table: dict[str, Convert] = {
            "bool": _to_bool,
            "uuid": _uuid_from_bytes,
            "json": _loads_json,
            "char": _rstrip_spaces,
            "float32": _float32,
            "bytes": _bytes_from_memoryview,
            "datetime": _parse_datetime,
            "date": _parse_date,
        }
        return table.get(family)

    # -- statements -------------------------------------------------------------
    def insert_from_select(self, insert: sa.Insert, names: Sequence[str],
                           select: sa.Select) -> sa.Insert:
        """INSERT ... SELECT; SQLite parses ``ON CONFLICT`` after a SELECT only with a WHERE."""
        return insert.from_select(list(names), select.where(sa.true()))

    def bulk_insert(self, table: sa.Table, names: Sequence[str]) -> sa.ClauseElement | None:
        """A faster statement than INSERT for loading many new rows, if the backend has one."""
        return None

    def bulk_loads(self, stored_types: Sequence[TypeSpec]) -> bool:
        """Whether :meth:`bulk_insert` pays for columns stored as these types."""
        return True

    def insert_skipping_duplicates(self, table: sa.Table) -> sa.Insert:
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()

    def insert_replacing(self, table: sa.Table, key: Sequence[str],
                         columns: Sequence[str]) -> sa.Insert:
        from sqlalchemy.dialects import sqlite

        stmt = sqlite.insert(table)
        updates = {c: stmt.excluded[c] for c in columns if c not in key}
        if not updates:
            return stmt.on_conflict_do_nothing()
        return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)

    # -- errors -------------------------------------------------------------------
    def classify(self, error: BaseException) -> str:
        text = str(error)
        if "UNIQUE constraint failed" in text:
            return ErrorKind.DUPLICATE
        if "FOREIGN KEY constraint failed" in text:
            return ErrorKind.FOREIGN_KEY
        if "NOT NULL constraint failed" in text:
            return ErrorKind.NOT_NULL
        if "no such table" in text:
            return ErrorKind.MISSING_TABLE
        if "CHECK constraint failed" in text:
            return ErrorKind.BAD_VALUE
        return ErrorKind.OTHER

    # -- connections ----------------------------------------------------------------
    def engine_options(self) -> dict[str, Any]:
        return {}

    def configure_engine(self, engine: sa.Engine) -> None:
        """Per-connection set-up (SQLite pragmas and transaction control)."""

    def run_last(self, cursor: Any, sql: str, parameters: Sequence[Any], *,
                 chain: bool = False) -> None:
        """Run the last statement of a transaction (it returns no rows).

        Where the driver can send it together with ``COMMIT`` in one round trip, it does, and
        the commit that follows costs nothing; elsewhere the commit follows as usual. With
        ``chain`` (where :attr:`chains_commits`), it commits and opens the next transaction.
        """
        cursor.execute(sql, parameters)
        if chain:
            self.commit_and_chain(cursor)

    #: Statements with more parameters than this are neither cached nor prepared by the
    #: driver (parsed again, and planned by the server, each time); None: no such limit.
    prepared_parameters_max: int | None = None

    def commit_and_chain(self, cursor: Any) -> None:
        """Commit, and open the next transaction in the same round trip."""
        raise NotImplementedError(f"{self.name} does not chain transactions")

    def forget_prepared(self, driver_connection: Any) -> None:
        """After DDL or a rollback, which may drop server-side prepared statements."""

    def now(self) -> sa.ColumnElement:
        """The server's current time (UTC), comparable with stored datetime(3) values."""
        return sa.func.strftime("%Y-%m-%d %H:%M:%f", "now")

    def seconds_from_now(self, seconds: float) -> sa.ColumnElement:
        """The server's current time shifted by ``seconds`` (negative: the past)."""
        return sa.func.strftime("%Y-%m-%d %H:%M:%f", "now", f"{float(seconds):+.3f} seconds")

    def current_timestamp_default(self, fsp: int) -> str:
        """SQL text of a CURRENT_TIMESTAMP default for a datetime(fsp) column."""
        return "CURRENT_TIMESTAMP"

    def fk_needs_index(self) -> bool:
        """PostgreSQL does not index foreign-key columns by itself."""
        return False


    # -- altering a table (SQLite rebuilds it; the servers alter in place) ----------------
    @property
    def alters_in_place(self) -> bool:
        """Whether column changes run as ALTER TABLE; SQLite rebuilds the table instead."""
        return False

    def alter_statements(self, target: sa.Table, added: Sequence[str], dropped: Sequence[str],
                         modified: Sequence[str], recommented: Sequence[str],
                         table_comment: bool = False) -> list[Any]:
        """DDL turning the stored table into ``target`` column by column (and its comment)."""
        statements: list[Any] = [DropColumn(target, name) for name in dropped]
        statements += [AddColumn(target.c[name]) for name in added]
        statements += [ModifyColumn(target.c[name]) for name in modified]
        statements += [sa.schema.SetColumnComment(target.c[name]) for name in recommented]
        if table_comment:
            statements.append(self.table_comment_statement(target))
        return statements

    def table_comment_statement(self, target: sa.Table) -> Any:
        if target.comment:
            return sa.schema.SetTableComment(target)
        return sa.schema.DropTableComment(target)

    def rebuild_table(self, sa_connection: sa.Connection, current: sa.Table, target: sa.Table,
                      staging: sa.Table, kept: Sequence[str],
                      finish: Callable[[sa.Connection], None]) -> None:
        """SQLite's way to change columns: copy into a new table that takes the old name.

        Foreign keys are switched off for the swap (children keep naming the table), which
        SQLite only allows between transactions; the swap itself is one transaction, checked
        with ``foreign_key_check`` before it commits.
        """
        raw = sa_connection.connection.driver_connection
        sa_connection.commit()
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with sa_connection.begin():
                sa_connection.execute(sa.schema.CreateTable(staging))
                sa_connection.execute(sa.insert(staging).from_select(
                    list(kept), sa.select(*[current.c[name] for name in kept])))
                _check_converted(sa_connection, staging, kept)
                sa_connection.execute(sa.schema.DropTable(current))
                sa_connection.execute(RenameTable(staging, target.name))
                for index in target.indexes:
                    index.create(sa_connection)
                finish(sa_connection)
                broken = sa_connection.execute(sa.text("PRAGMA foreign_key_check")).all()
                if broken:
                    raise sa.exc.IntegrityError("PRAGMA foreign_key_check", None,
                                                ValueError(f"foreign keys broken: {broken[:3]}"))
        finally:
            raw.execute("PRAGMA foreign_keys = ON")
            sa_connection.begin()


def _check_converted(sa_connection: sa.Connection, table: sa.Table, names: Sequence[str]) -> None:
    """Refuse a rebuild that left text in a numeric column: SQLite keeps a value its column
    type cannot convert (``'ann'`` in an int column) where the servers raise."""
    numeric = (sa.Integer, sa.Float, sa.Numeric, sa.Boolean)
    for name in names:
        column = table.c[name]
        if not isinstance(column.type, numeric):
            continue
        bad = sa.select(column).where(sa.func.typeof(column) == "text").limit(1)
        value = sa_connection.execute(bad).scalar()
        if value is not None:
            raise sa.exc.DataError(f"convert {name}", None, ValueError(
                f"value {value!r} of {name!r} is not a {column.type}"))


class SQLiteDialect(Dialect):
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


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    max_identifier = 63

    def table_address(self, schema, table):
        return schema, table

    def schema_of_address(self, sa_schema, name):
        return (sa_schema, name) if sa_schema else None

    def reflect_schema(self, schema):
        return schema

    def create_schema_ddl(self, schema):
        return [sa.schema.CreateSchema(schema, if_not_exists=True)]

    def drop_schema_ddl(self, schema):
        return [sa.schema.DropSchema(schema, cascade=True, if_exists=True)]

    @property
    def keeps_comments(self):
        return True

    def _type_float32(self, args, schema):
        from sqlalchemy.dialects import postgresql

        return postgresql.REAL()

    def _type_decimal(self, args, schema):
        return sa.Numeric(*args)

    def _type_enum(self, args, schema):
        from sqlalchemy.dialects import postgresql

        return postgresql.ENUM(*args, name=enum_type_name(args), schema=schema)

    def _type_datetime(self, args, schema):
        from sqlalchemy.dialects import postgresql

        return postgresql.TIMESTAMP(precision=args[0] if args else 0)

    def _type_json(self, args, schema):
        from sqlalchemy.dialects import postgresql

        return postgresql.JSONB()

    def _type_uuid(self, args, schema):
        from sqlalchemy.dialects import postgresql

        return postgresql.UUID(as_uuid=True)

    def binder(self, spec):
        family = _family(spec)
        if family == "json":
            from psycopg.types.json import Jsonb

            return lambda v: Jsonb(v, dumps=_dump_json)
        if family == "datetime":
            return None
        if family in ("uuid", "date", "decimal"):
            return None
        return super().binder(spec)

    def decoder(self, spec):
        family = _family(spec)
        if family in ("bool", "uuid", "json", "date", "datetime"):
            return None
        if family == "decimal":
            return None
        return super().decoder(spec)

    def fk_needs_index(self):
        return True

    @property
    def alters_in_place(self):
        return True

    def alter_statements(self, target, added, dropped, modified, recommented,
                         table_comment=False):
        """PostgreSQL column specifications carry no comment: set them one by one."""
        statements = super().alter_statements(target, added, dropped, modified, recommented,
                                              table_comment)
        return statements + [sa.schema.SetColumnComment(target.c[name])
                             for name in (*added, *modified)]

    def _default_sa_dialect(self):
        from sqlalchemy.dialects.postgresql import psycopg

        return psycopg.dialect(paramstyle="format")

    def bulk_insert(self, table, names):
        return CopyFrom(table, names)

    def bulk_loads(self, stored_types):
        """Text COPY escapes bytea byte by byte (about 30 MiB/s here): blobs go by INSERT."""
        return not any(_family(spec) == "bytes" for spec in stored_types)

    def insert_from_select(self, insert, names, select):
        return insert.from_select(list(names), select)

    def insert_skipping_duplicates(self, table):
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()

    def insert_replacing(self, table, key, columns):
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(table)
        updates = {c: stmt.excluded[c] for c in columns if c not in key}
        if not updates:
            return stmt.on_conflict_do_nothing()
        return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)

    def classify(self, error):
        state = getattr(getattr(error, "orig", error), "sqlstate", None) or ""
        kinds = {
            "23505": ErrorKind.DUPLICATE,
            "23503": ErrorKind.FOREIGN_KEY,
            "23502": ErrorKind.NOT_NULL,
            "22003": ErrorKind.OUT_OF_RANGE,
            "22001": ErrorKind.OUT_OF_RANGE,
            "42P01": ErrorKind.MISSING_TABLE,
        }
        if state in kinds:
            return kinds[state]
        if state.startswith("22") or state == "23514":
            return ErrorKind.BAD_VALUE
        if state.startswith("08") or state == "57P01":
            return ErrorKind.LOST_CONNECTION
        if not state and type(getattr(error, "orig", error)).__name__ == "OperationalError":
            return ErrorKind.LOST_CONNECTION  # psycopg: the server went away (no SQLSTATE)
        return ErrorKind.OTHER

    can_chain_commits = True
    prepared_parameters_max = 50  # psycopg's MAX_CACHED_STATEMENT_PARAMS

    def run_last(self, cursor, sql, parameters, *, chain=False):
        pipeline = _pg_pipeline()
        # the statement and the commit in one round trip
        if chain and self.fast_paths and pipeline.PIPELINE_MODE:
            pipeline.run_and_chain(cursor.connection, sql, parameters)
        else:
            super().run_last(cursor, sql, parameters, chain=chain)

    def forget_prepared(self, driver_connection):
        _pg_pipeline().forget(driver_connection)

    def commit_and_chain(self, cursor):
        _pg_pipeline().commit_and_chain(cursor.connection)

    def now(self):
        return sa.func.localtimestamp()

    def seconds_from_now(self, seconds):
        return sa.func.localtimestamp() + sa.func.make_interval(
            0, 0, 0, 0, 0, 0, sa.cast(float(seconds), sa.Double()))

    def engine_options(self):
        return {"connect_args": {"options": "-c timezone=UTC"}, "paramstyle": "format"}

    def configure_engine(self, engine):
        # psycopg deallocates a connection's prepared statements when it rolls back
        @sa.event.listens_for(engine, "rollback")
        def on_rollback(connection):
            if not (connection.closed or connection.invalidated):  # else: a new one comes
                self.forget_prepared(connection.connection.dbapi_connection)

    def current_timestamp_default(self, fsp: int) -> str:
        return f"CURRENT_TIMESTAMP({fsp})" if fsp else "CURRENT_TIMESTAMP(0)"


@functools.cache
def _pg_pipeline():
    """``pg_pipeline``, imported on first use: psycopg is an optional dependency."""
    from .postgresql import pipeline as pg_pipeline

    return pg_pipeline


class MySQLDialect(Dialect):
    name = "mysql"
    max_identifier = 64

    def table_address(self, schema, table):
        return schema, table

    def schema_of_address(self, sa_schema, name):
        return (sa_schema, name) if sa_schema else None

    def reflect_schema(self, schema):
        return schema

    def create_schema_ddl(self, schema):
        return [sa.schema.CreateSchema(schema, if_not_exists=True)]

    def drop_schema_ddl(self, schema):
        return [sa.schema.DropSchema(schema, if_exists=True)]

    @property
    def keeps_comments(self):
        return True

    def _type_int8(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.TINYINT()

    def _type_float32(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.FLOAT()

    def _type_bool(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.TINYINT()

    def _type_decimal(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.DECIMAL(*args)

    def _type_text(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.LONGTEXT()

    def _type_enum(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.ENUM(*args)

    def _type_datetime(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.DATETIME(fsp=args[0] if args else 0)

    def _type_json(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.JSON()

    def _type_uuid(self, args, schema):
        from sqlalchemy.dialects import mysql

        return mysql.BINARY(16)

    def _type_bytes(self, args, schema):
        from sqlalchemy.dialects import mysql

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
                         table_comment=False):
        """One ALTER TABLE for every change: MySQL commits each DDL statement on its own, so
        several statements could leave an alter half done."""
        return [AlterColumns(target, dropped, added, [*modified, *recommented], table_comment)]

    def table_options(self):
        return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
                "mysql_collate": self.collation}

    def binder(self, spec):
        family = _family(spec)
        if family in ("datetime", "date", "decimal"):
            return None
        return super().binder(spec)

    def decoder(self, spec):
        family = _family(spec)
        if family in ("date", "datetime", "decimal"):
            return None
        return super().decoder(spec)

    def insert_from_select(self, insert, names, select):
        return insert.from_select(list(names), select)

    def insert_skipping_duplicates(self, table):
        from sqlalchemy.dialects import mysql

        stmt = mysql.insert(table)
        first = next(iter(table.primary_key.columns))
        # `pk = pk`: a no-op. Assigning the inserted value instead would rewrite the primary
        # key of the existing row when the conflict is on a secondary unique index.
        return stmt.on_duplicate_key_update({first.name: first})

    def insert_replacing(self, table, key, columns):
        from sqlalchemy.dialects import mysql

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
            2006: ErrorKind.LOST_CONNECTION,
            2013: ErrorKind.LOST_CONNECTION,
            2003: ErrorKind.LOST_CONNECTION,
            0: ErrorKind.LOST_CONNECTION,
        }
        return kinds.get(code, ErrorKind.OTHER)

    def engine_options(self):
        from pymysql.constants import CLIENT

        from .mysql.binary_protocol import BinaryParamsCursor

        # MULTI_STATEMENTS carries a transaction's last statement and its COMMIT in one round
        # trip (run_last); FOUND_ROWS, which SQLAlchemy sets unless told a flag, stays. The
        # cursor sends large bytes values unescaped, through prepared statements (4-6x
        # faster blob writes than PyMySQL's hex literals, which the server parses slowly).
        if not self.fast_paths:  # PyMySQL's own cursor, one statement per round trip
            return {"connect_args": {"charset": "utf8mb4", "client_flag": CLIENT.FOUND_ROWS},
                    "paramstyle": "format"}
        return {"connect_args": {"charset": "utf8mb4",
                                 "client_flag": CLIENT.MULTI_STATEMENTS | CLIENT.FOUND_ROWS,
                                 "cursorclass": BinaryParamsCursor},
                "paramstyle": "format"}

    def run_last(self, cursor, sql, parameters, *, chain=False):
        if not self.fast_paths:
            return super().run_last(cursor, sql, parameters, chain=chain)
        from .mysql.binary_protocol import COMMIT_SUFFIX  # needs PyMySQL, as this path does

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


class CopyFrom(sa.sql.expression.Executable, sa.sql.expression.ClauseElement):
    """PostgreSQL ``COPY table (columns) FROM STDIN``: the bulk load path for new rows."""

    inherit_cache = False

    def __init__(self, table: sa.Table, names: Sequence[str]):
        self.table = table
        self.names = list(names)


@compiles(CopyFrom, "postgresql")
def _compile_copy(element: CopyFrom, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    columns = ", ".join(preparer.quote(name) for name in element.names)
    return f"COPY {preparer.format_table(element.table)} ({columns}) FROM STDIN"


class AddColumn(sa.schema.ExecutableDDLElement):
    """``ALTER TABLE t ADD COLUMN <specification>`` for a column of the target table."""

    inherit_cache = False

    def __init__(self, column: sa.Column):
        self.column = column


class DropColumn(sa.schema.ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str):
        self.table = table
        self.name = name


class ModifyColumn(sa.schema.ExecutableDDLElement):
    """Give an existing column the type, nullability and default of ``column``."""

    inherit_cache = False

    def __init__(self, column: sa.Column):
        self.column = column


class AlterColumns(sa.schema.ExecutableDDLElement):
    """Several column changes (and the table comment) in one ALTER TABLE statement."""

    inherit_cache = False

    def __init__(self, table: sa.Table, dropped: Sequence[str], added: Sequence[str],
                 modified: Sequence[str], table_comment: bool):
        self.table = table
        self.dropped, self.added, self.modified = list(dropped), list(added), list(modified)
        self.table_comment = table_comment


class RenameTable(sa.schema.ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, new_name: str):
        self.table = table
        self.new_name = new_name


@compiles(AddColumn)
def _compile_add_column(element: AddColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} ADD COLUMN {compiler.get_column_specification(element.column)}"


@compiles(DropColumn)
def _compile_drop_column(element: DropColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    return f"ALTER TABLE {table} DROP COLUMN {compiler.preparer.quote(element.name)}"


@compiles(RenameTable)
def _compile_rename_table(element: RenameTable, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    return f"ALTER TABLE {table} RENAME TO {compiler.preparer.quote(element.new_name)}"


@compiles(AlterColumns, "mysql")
def _compile_alter_columns_mysql(element: AlterColumns, compiler: Any, **kw: Any) -> str:
    table, quote = element.table, compiler.preparer.quote
    actions = [f"DROP COLUMN {quote(name)}" for name in element.dropped]
    actions += [f"ADD COLUMN {compiler.get_column_specification(table.c[name])}"
                for name in element.added]  # MySQL's specification includes the comment
    actions += [f"MODIFY COLUMN {compiler.get_column_specification(table.c[name])}"
                for name in element.modified]
    if element.table_comment:
        comment = compiler.sql_compiler.render_literal_value(table.comment or "", sa.String())
        actions.append(f"COMMENT = {comment}")
    return f"ALTER TABLE {compiler.preparer.format_table(table)} {', '.join(actions)}"


@compiles(ModifyColumn)
def _compile_modify_column(element: ModifyColumn, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError("SQLite changes columns by rebuilding the table (rebuild_table)")


@compiles(ModifyColumn, "mysql")
def _compile_modify_column_mysql(element: ModifyColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} MODIFY COLUMN {compiler.get_column_specification(element.column)}"


@compiles(ModifyColumn, "postgresql")
def _compile_modify_column_postgresql(element: ModifyColumn, compiler: Any, **kw: Any) -> str:
    column = element.column
    table = compiler.preparer.format_table(column.table)
    name = compiler.preparer.format_column(column)
    type_text = compiler.dialect.type_compiler_instance.process(column.type,
                                                                type_expression=column)
    default = compiler.get_column_default_string(column)
    actions = [f"ALTER COLUMN {name} DROP DEFAULT",
               f"ALTER COLUMN {name} TYPE {type_text} USING {name}::{type_text}",
               f"ALTER COLUMN {name} {'DROP' if column.nullable else 'SET'} NOT NULL"]
    if default is not None:
        actions.append(f"ALTER COLUMN {name} SET DEFAULT {default}")
    return f"ALTER TABLE {table} " + ", ".join(actions)


_DIALECTS: dict[str, type[Dialect]] = {
    "sqlite": SQLiteDialect,
    "postgresql": PostgreSQLDialect,
    "mysql": MySQLDialect,
    "mariadb": MySQLDialect,
}


def dialect_for(sa_dialect_name: str, *, fast_paths: bool = True) -> Dialect:
    """Our dialect object for a SQLAlchemy dialect name (``fast_paths``: see :class:`Dialect`)."""
    try:
        return _DIALECTS[sa_dialect_name](fast_paths=fast_paths)
    except KeyError:
        supported = ", ".join(sorted(set(_DIALECTS) - {"mariadb"}))
        raise ValueError(
            f"unsupported database {sa_dialect_name!r}; use one of {supported}") from None


# -- helpers shared by the dialects ----------------------------------------------------

def _family(spec: TypeSpec) -> str:
    """The core family of a stored type (the caller has resolved codec types)."""
    return core_of(spec)[0]


def _dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]``: str() of a naive datetime is exactly this."""
    return str(value)


def _parse_datetime(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _parse_date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _decimal_decoder(spec: TypeSpec) -> Convert:
    args = core_of(spec)[1]
    scale = args[1] if len(args) > 1 else 0
    quantum = decimal.Decimal(1).scaleb(-scale)

    def decode(value: Any) -> Any:
        if value is None or isinstance(value, decimal.Decimal):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            return decimal.Decimal(value)
        text = repr(value) if isinstance(value, float) else str(value)
        return decimal.Decimal(text).quantize(quantum)

    return decode
