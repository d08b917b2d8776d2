"""The base :class:`Dialect`: what the rest of the package asks of a backend, answered the
portable way. Each backend's folder (``sqlite/``, ``postgresql/``, ``mysql/``) holds its
dialect, written as its differences only; nothing outside ``backends/`` branches on the
backend name. Shared value converters live here too.

Long module: one class is the whole portable contract a dialect overrides (types, values,
statements, errors, connections); split, a dialect's differences would have no one place.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..definition.model import TypeSpec
from ..definition.types import core_of
from .ddl import AddColumn, DropColumn, ModifyColumn, RenameColumn, RenameTable

__all__ = ["Dialect", "ServerSchemas", "ErrorKind", "Convert", "enum_type_name",
           "stored_family", "dump_json",
           "iso_datetime", "parse_datetime", "parse_date", "decimal_decoder", "to_bool",
           "rstrip_spaces", "loads_json", "uuid_from_bytes", "bytes_from_memoryview",
           "to_float32", "check_converted"]


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
    ACCESS_DENIED = "access_denied"  # the user lacks a privilege
    OTHER = "other"


def to_bool(value: Any) -> Any:
    return value if value is None else bool(value)


def rstrip_spaces(value: Any) -> Any:
    return value.rstrip(" ") if isinstance(value, str) else value


def loads_json(value: Any) -> Any:
    if isinstance(value, (str, bytes, bytearray)):
        return json.loads(value)
    return value


def uuid_from_bytes(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(bytes=bytes(value))


def bytes_from_memoryview(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def to_float32(value: Any) -> Any:
    """The stored float32 as its shortest repr (15.3, not 15.300000190734863)."""
    if value is None:
        return None
    import numpy as np

    return float(str(np.float32(value)))


def enum_type_name(values: Sequence[str]) -> str:
    """Deterministic PostgreSQL type name for an enum's value list."""
    digest = hashlib.md5("\x1f".join(values).encode()).hexdigest()[:8]
    return f"enum_{digest}"


class Dialect:
    """What differs between backends. The SQLite behaviour is the reference; subclasses
    (``sqlite/``, ``postgresql/``, ``mysql/``) are written as their differences only.

    The fast paths — commits that open the next transaction (``COMMIT AND CHAIN``), a
    transaction's last statement sent with its ``COMMIT`` (``run_last``), PostgreSQL's
    pipeline mode, MySQL's binary protocol for large values and its skipped second
    ``COMMIT`` — sit behind one seam: ``fast_paths`` (``dj.config["database.fast_paths"]``).
    Off, every backend takes the plain path: a statement, then SQLAlchemy's commit.
    """

    def __init__(self, *, fast_paths: bool = True, charset: str = ""):
        self.fast_paths = fast_paths
        self.charset = charset  # connection.charset: the connection's character set ('': ours)

    @property
    def chains_commits(self) -> bool:
        """Whether a commit can open the next transaction at once (``COMMIT AND CHAIN``)."""
        return self.fast_paths and self.can_chain_commits

    #: Whether the server can chain commits at all (used only with the fast paths on).
    can_chain_commits = False

    #: Whether DDL takes part in transactions (MySQL commits each DDL statement at once).
    transactional_ddl = True

    #: Whether a worker proves it lives by a lease file beside the database (an embedded
    #: database, where heartbeats cannot advance during a make; see populate/leases.py).
    worker_leases = False

    #: Whether the planner seeks an index for a row-value comparison ``(a, b) > (x, y)``
    #: (keyset paging); where not (MariaDB scans), the compiler expands it into
    #: ``a >= x AND (a > x OR b > y)``, which it does seek.
    row_value_seeks = True

    #: Whether makes stage their writes (``Connection.staged_transaction``) so that they can
    #: compute concurrently: a database with one writer at a time (SQLite).
    stages_writes = False

    name = "sqlite"
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

    def drop_table(self, connection: sa.Connection, target: sa.Table) -> None:
        """DROP TABLE ``target``, and what only it used (PostgreSQL: its enum types)."""
        target.drop(connection)

    def referencing_schemas(self, schema: str) -> sa.TextClause | None:
        """A query for the schemas whose foreign keys refer to ``schema``'s tables, or None
        where every schema must be read (SQLite: one file, schemas are name prefixes)."""
        return None

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
        family = stored_family(spec)
        if family == "uuid":
            return lambda v: v.bytes
        if family == "json":
            return dump_json
        if family == "datetime":
            return iso_datetime
        if family == "date":
            return lambda v: v.isoformat()
        if family == "decimal":
            return str  # NUMERIC affinity turns the text into a number; wide decimals stay text
        return None

    def read_column(self, column: sa.ColumnElement, spec: TypeSpec) -> sa.ColumnElement:
        """What a SELECT reads for a stored column (unless the driver gets it less precise)."""
        return column

    def decoder(self, spec: TypeSpec) -> Convert | None:
        """Driver value → Python value; None when the driver's value is already right."""
        family = stored_family(spec)
        if family == "decimal":
            return decimal_decoder(spec)
        table: dict[str, Convert] = {
            "bool": to_bool,
            "uuid": uuid_from_bytes,
            "json": loads_json,
            "char": rstrip_spaces,
            "float32": to_float32,
            "bytes": bytes_from_memoryview,
            "datetime": parse_datetime,
            "date": parse_date,
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

    def insert_skipping_duplicates(self, table: sa.Table,
                                   key: Sequence[str] | None = None) -> sa.Insert:
        """INSERT skipping rows whose ``key`` exists (other unique clashes raise; no key: all)."""
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=key and list(key))

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

    def raw_sql(self, sql: str, has_args: bool) -> str:
        return sql  # user SQL for Connection.query, placeholders as the driver takes them

    def auto_increment_type(self, sa_type: Any) -> Any:
        return sa_type  # the column type of an ``auto_increment`` key

    def tls_options(self, use_tls: bool | dict | None) -> dict[str, Any]:
        """Driver connect arguments for ``database.use_tls`` (embedded: no network, none)."""
        return {}

    def replica_identity_statement(self, table: sa.Table, mode: str) -> Any | None:
        """DDL setting the table's replica identity (``default``/``full``); None where the
        backend has none (only PostgreSQL has)."""
        return None

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

    def index_name(self, table: str, columns: Sequence[str], fallback: str) -> str:
        """The name of a new index over ``columns`` of ``table`` (its name in the schema);
        ``fallback`` is unique wherever index names must be (SQLite: in the whole file)."""
        return fallback


    # -- altering a table (SQLite rebuilds it; the servers alter in place) ----------------
    @property
    def alters_in_place(self) -> bool:
        """Whether column changes run as ALTER TABLE; SQLite rebuilds the table instead."""
        return False

    def alter_statements(self, target: sa.Table, added: Sequence[str], dropped: Sequence[str],
                         modified: Sequence[str], recommented: Sequence[str],
                         table_comment: bool = False,
                         renamed: Mapping[str, str] | None = None) -> list[Any]:
        """DDL turning the stored table into ``target`` column by column (and its comment).
        ``renamed`` (new name -> old name) are renamed first; the other lists use new names."""
        statements: list[Any] = [RenameColumn(target, old, new)
                                 for new, old in (renamed or {}).items()]
        statements += [DropColumn(target, name) for name in dropped]
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
                      finish: Callable[[sa.Connection], None],
                      sources: Mapping[str, str] | None = None) -> None:
        """SQLite's way to change columns: copy into a new table that takes the old name.
        ``kept`` are the copied columns (target names); ``sources`` maps a renamed one to its
        column in ``current``.

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
                    list(kept), sa.select(*[current.c[(sources or {}).get(name, name)]
                                            for name in kept])))
                check_converted(sa_connection, staging, kept)
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


def check_converted(sa_connection: sa.Connection, table: sa.Table, names: Sequence[str]) -> None:
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


# -- helpers shared by the dialects ----------------------------------------------------

def stored_family(spec: TypeSpec) -> str:
    """The core family of a stored type (the caller has resolved codec types)."""
    return core_of(spec)[0]


def dump_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def iso_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]``: str() of a naive datetime is exactly this."""
    return str(value)


def parse_datetime(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def parse_date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def decimal_decoder(spec: TypeSpec) -> Convert:
    args = core_of(spec)[1]
    scale = args[1] if len(args) > 1 else 0
    quantum = decimal.Decimal(1).scaleb(-scale)
    wide = decimal.Context(prec=max(28, (args[0] if args else 0) + 2))  # decimal(30,10) too

    def decode(value: Any) -> Any:
        if value is None or isinstance(value, decimal.Decimal):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            return decimal.Decimal(value)
        text = repr(value) if isinstance(value, float) else str(value)
        return decimal.Decimal(text).quantize(quantum, context=wide)

    return decode


class ServerSchemas:
    """What both server dialects share: a schema is the server's own namespace (a PostgreSQL
    schema, a MySQL database), where the embedded default prefixes table names instead.
    Listed before :class:`Dialect` in a server dialect's bases."""

    def table_address(self, schema: str, table: str) -> tuple[str | None, str]:
        return schema, table

    def schema_of_address(self, sa_schema: str | None, name: str) -> tuple[str, str] | None:
        return (sa_schema, name) if sa_schema else None

    def reflect_schema(self, schema: str) -> str | None:
        return schema

    def create_schema_ddl(self, schema: str) -> list[sa.schema.ExecutableDDLElement]:
        return [sa.schema.CreateSchema(schema, if_not_exists=True)]
