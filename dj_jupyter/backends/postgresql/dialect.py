"""PostgreSQL (psycopg), as its differences from the base dialect; its fast paths (commit
chaining, pipeline mode) go through :mod:`.pipeline`.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles

from ...definition.limits import MAX_IDENTIFIER
from ..ddl import CopyFrom, ModifyColumn
from ..dialect import Dialect, ErrorKind, ServerSchemas, dump_json, enum_type_name, stored_family

__all__ = ['PostgreSQLDialect']


# the enum types of a table's columns, and whether any column of any table still uses one
_ENUMS_OF_TABLE = sa.text(
    "SELECT DISTINCT t.typname FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typnamespace = n.oid "
    "WHERE n.nspname = :schema AND c.relname = :table AND t.typtype = 'e' "
    "AND a.attnum > 0 AND NOT a.attisdropped")
_ENUM_IN_USE = sa.text(
    "SELECT 1 FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = :schema AND t.typname = :name AND a.attnum > 0 "
    "AND NOT a.attisdropped LIMIT 1")


class PostgreSQLDialect(ServerSchemas, Dialect):
    name = "postgresql"
    max_identifier = 63

    def drop_schema_ddl(self, schema):
        return [sa.schema.DropSchema(schema, cascade=True, if_exists=True)]

    def drop_table(self, connection, target):
        """Also drop the enum types that only this table's columns used: an enum type is
        named by its values and shared by every column of the schema with those values."""
        names = {"schema": target.schema, "table": target.name}
        enums = connection.execute(_ENUMS_OF_TABLE, names).scalars().all()
        target.drop(connection)
        for enum in enums:
            if connection.execute(_ENUM_IN_USE, {"schema": target.schema,
                                                 "name": enum}).first() is None:
                postgresql.ENUM(name=enum, schema=target.schema).drop(connection)

    def referencing_schemas(self, schema):
        return sa.text(
            "SELECT DISTINCT child_ns.nspname FROM pg_constraint c "
            "JOIN pg_class child ON child.oid = c.conrelid "
            "JOIN pg_namespace child_ns ON child_ns.oid = child.relnamespace "
            "JOIN pg_class parent ON parent.oid = c.confrelid "
            "JOIN pg_namespace parent_ns ON parent_ns.oid = parent.relnamespace "
            "WHERE c.contype = 'f' AND parent_ns.nspname = :schema").bindparams(schema=schema)

    @property
    def keeps_comments(self):
        return True

    def _type_float32(self, args, schema):
        return postgresql.REAL()

    def _type_decimal(self, args, schema):
        return sa.Numeric(*args)

    def _type_enum(self, args, schema):
        return postgresql.ENUM(*args, name=enum_type_name(args), schema=schema)

    def _type_datetime(self, args, schema):
        return postgresql.TIMESTAMP(precision=args[0] if args else 0)

    def _type_json(self, args, schema):
        return postgresql.JSONB()

    def _type_uuid(self, args, schema):
        return postgresql.UUID(as_uuid=True)

    def binder(self, spec):
        family = stored_family(spec)
        if family == "json":
            from psycopg.types.json import Jsonb

            return lambda v: Jsonb(v, dumps=dump_json)
        if family == "datetime":
            return None
        if family in ("uuid", "date", "decimal"):
            return None
        return super().binder(spec)

    def decoder(self, spec):
        family = stored_family(spec)
        if family in ("bool", "uuid", "json", "date", "datetime"):
            return None
        if family == "decimal":
            return None
        return super().decoder(spec)

    def fk_needs_index(self):
        return True

    def index_name(self, table, columns, fallback):
        # DataJoint's names, ``idx_<table>_<columns>`` (so both libraries read one layout),
        # where PostgreSQL would not cut them short
        name = f"idx_{table}_{'_'.join(columns)[:30]}"
        return name if len(name.encode()) <= MAX_IDENTIFIER else fallback

    @property
    def alters_in_place(self):
        return True

    def alter_statements(self, target, added, dropped, modified, recommented,
                         table_comment=False, renamed=None):
        """PostgreSQL column specifications carry no comment: set them one by one (DDL is
        transactional here, so the statements change the table together or not at all)."""
        statements = super().alter_statements(target, added, dropped, modified, recommented,
                                              table_comment, renamed)
        return statements + [sa.schema.SetColumnComment(target.c[name])
                             for name in (*added, *modified)]

    def _default_sa_dialect(self):
        from sqlalchemy.dialects.postgresql import psycopg

        return psycopg.dialect(paramstyle="format")

    def bulk_insert(self, table, names):
        return CopyFrom(table, names)

    def bulk_loads(self, stored_types):
        """Text COPY escapes bytea byte by byte (about 30 MiB/s here): blobs go by INSERT."""
        return not any(stored_family(spec) == "bytes" for spec in stored_types)

    def insert_from_select(self, insert, names, select):
        return insert.from_select(list(names), select)

    def insert_skipping_duplicates(self, table, key=None):
        stmt = postgresql.insert(table)
        return stmt.on_conflict_do_nothing(index_elements=list(key) if key else None)

    def insert_replacing(self, table, key, columns):
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
            "42501": ErrorKind.ACCESS_DENIED,  # insufficient_privilege
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
        # the wall clock, not the transaction's start (localtimestamp): a job finished inside
        # a make's transaction must not look finished when it was reserved
        return sa.cast(sa.func.clock_timestamp(), sa.DateTime())

    def seconds_from_now(self, seconds):
        return self.now() + sa.func.make_interval(
            0, 0, 0, 0, 0, 0, sa.cast(float(seconds), sa.Double()))

    def tls_options(self, use_tls):
        # libpq: sslmode=require encrypts without verifying; a dict gives libpq's ssl* keys.
        if use_tls is None:
            return {}
        if isinstance(use_tls, dict):
            return {"sslmode": "require", **use_tls}
        return {"sslmode": "require" if use_tls else "disable"}

    def engine_options(self):
        return {"connect_args": {"options": "-c timezone=UTC"}, "paramstyle": "format"}

    def configure_engine(self, engine):
        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            _prefer_lz4(dbapi_connection)

        # psycopg deallocates a connection's prepared statements when it rolls back
        @sa.event.listens_for(engine, "rollback")
        def on_rollback(connection):
            if not (connection.closed or connection.invalidated):  # else: a new one comes
                self.forget_prepared(connection.connection.dbapi_connection)

    def current_timestamp_default(self, fsp: int) -> str:
        return f"CURRENT_TIMESTAMP({fsp})" if fsp else "CURRENT_TIMESTAMP(0)"

    def replica_identity_statement(self, table, mode):
        return SetReplicaIdentity(table, mode)


class SetReplicaIdentity(sa.schema.ExecutableDDLElement):
    """``ALTER TABLE t REPLICA IDENTITY DEFAULT|FULL``: how much of an old row UPDATE and
    DELETE write to the WAL (change-data-capture tools read it); PostgreSQL's alone."""

    inherit_cache = False

    def __init__(self, table: sa.Table, mode: str):
        self.table = table
        self.mode = mode


@functools.cache
def _pg_pipeline():
    """``pg_pipeline``, imported on first use: psycopg is an optional dependency."""
    from . import pipeline as pg_pipeline

    return pg_pipeline


@compiles(CopyFrom, "postgresql")
def _compile_copy(element: CopyFrom, compiler: Any, **kw: Any) -> str:
    preparer = compiler.preparer
    columns = ", ".join(preparer.quote(name) for name in element.names)
    return f"COPY {preparer.format_table(element.table)} ({columns}) FROM STDIN"


@compiles(SetReplicaIdentity, "postgresql")
def _compile_replica_identity(element: SetReplicaIdentity, compiler: Any, **kw: Any) -> str:
    mode = {"default": "DEFAULT", "full": "FULL"}[element.mode]
    return f"ALTER TABLE {compiler.preparer.format_table(element.table)} REPLICA IDENTITY {mode}"


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


def _prefer_lz4(dbapi_connection: Any) -> None:
    """lz4 for the values the server compresses (TOAST), where the server has it (14 or later,
    built with lz4): its default, pglz, spends ~60 ms on a 1 MiB ``<blob>`` of random floats
    that it then stores uncompressed anyway (DataJoint's blob header is mostly zero bytes,
    which keeps pglz trying). A server without lz4 keeps its default."""
    if dbapi_connection.info.server_version < 140000:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET default_toast_compression = lz4")
        dbapi_connection.commit()
    except Exception:  # noqa: BLE001 - built without lz4: "invalid value for parameter"
        dbapi_connection.rollback()
