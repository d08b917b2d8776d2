"""Declaring a table: a parsed definition plus its resolved parents becomes DDL.

:func:`plan_table` is pure (no I/O): it returns a :class:`TablePlan` with the
SQLAlchemy table, the lineage rows and the comment rows. :func:`create_table`
executes a plan in one step: on SQLite and PostgreSQL inside one transaction
(their DDL is transactional); on MySQL, whose DDL commits by itself, a failure
after ``CREATE TABLE`` drops the table again so nothing half-made remains.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.heading import TableInfo
from ..algebra.values import value_check
from ..definition import limits
from ..definition.model import AttributeSpec, Default, ForeignKeySpec, TableDefinition, TypeSpec
from ..definition.types import is_auto_increment, is_blob_like
from ..errors import DefinitionError
from ..objects.codecs import storage_spec
from . import metadata as catalog
from .catalog import catalog_of
from .events import CatalogEvent

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["TablePlan", "plan_table", "create_table", "ResolvedParent", "JOB_METADATA",
           "PROVENANCE", "JOB_METADATA_COLUMNS", "PROVENANCE_COLUMN"]


@dataclass(frozen=True)
class ResolvedParent:
    """A foreign key's parent table, as the declaring context found it."""

    spec: ForeignKeySpec
    info: TableInfo


@dataclass(frozen=True)
class Column:
    name: str
    type: TypeSpec
    in_key: bool
    nullable: bool
    default: Default | None
    comment: str
    lineage: str | None


@dataclass
class TablePlan:
    schema: str
    name: str
    table: sa.Table
    columns: list[Column]
    lineage_rows: list[dict]
    comment_rows: list[dict]


#: Hidden per-row record of the make that wrote a row of a Computed/Imported table
#: (``jobs.add_job_metadata``), named and typed as DataJoint 2.x declares them.
JOB_METADATA_COLUMNS = ("_job_start_time", "_job_duration", "_job_version")
JOB_METADATA = (
    Column("_job_start_time", TypeSpec("datetime", (3,), "datetime(3)"), False, True, None,
           "when computation began", None),
    Column("_job_duration", TypeSpec("float32", (), "float32"), False, True, None,
           "computation duration in seconds", None),
    Column("_job_version", TypeSpec("varchar", (64,), "varchar(64)"), False, False,
           Default(""), "code version", None),
)
#: Hidden provenance of a row entered into a Manual table (``provenance.capture``).
PROVENANCE_COLUMN = "_prov"
PROVENANCE = (Column(PROVENANCE_COLUMN, TypeSpec("json", (), "json"), False, True, None,
                     "extrinsic provenance for a row that entered from outside", None),)


def plan_table(connection: Connection, schema: str, name: str, definition: TableDefinition,
               parents: list[ResolvedParent], *, auto_populated: bool = False,
               allow_new_pk: bool = False, hidden: tuple[Column, ...] = ()) -> TablePlan:
    """Columns, constraints and metadata rows for a new table; no I/O. ``hidden``: platform
    columns (e.g. :data:`JOB_METADATA`) added after the user's, invisible to queries."""
    dialect = connection.dialect
    limits.check_identifier(name, "table name")  # one rule on every backend
    columns, foreign_keys = _columns(schema, name, definition, parents)
    limits.check_attribute_count(f"{schema}.{name}", len(columns))
    if not columns:
        raise DefinitionError(f"the definition of {name} declares no attributes; write at least "
                              "one line `name : type` (primary key above ---, the rest below)")
    if auto_populated and not allow_new_pk:
        _check_key_from_parents(name, columns, foreign_keys)
    metadata = sa.MetaData()
    sa_schema, address = dialect.table_address(schema, name)
    sa_columns = [_sa_column(dialect, schema, column) for column in (*columns, *hidden)]
    if not any(c.in_key for c in columns):
        sa_columns.insert(0, sa.Column("_singleton", sa.Boolean(create_constraint=False),
                                       primary_key=True, server_default=sa.true()))
    constraints = [_fk_constraint(dialect, metadata, info, child_columns)
                   for _spec, info, child_columns in foreign_keys]
    table = sa.Table(address, metadata, *sa_columns, *constraints, schema=sa_schema,
                     comment=(definition.comment or None) if dialect.keeps_comments else None,
                     **dialect.table_options())
    _add_indexes(dialect, table, schema, name, definition, foreign_keys, columns)
    lineage_rows = [{"table_name": name, "attribute_name": c.name, "lineage": c.lineage}
                    for c in columns if c.lineage]
    comment_rows = [] if dialect.keeps_comments else (
        [{"table_name": name, "attribute_name": "", "comment": definition.comment}]
        + [{"table_name": name, "attribute_name": c.name, "comment": _marker(c)} for c in columns])
    return TablePlan(schema, name, table, columns, lineage_rows, comment_rows)


def _columns(schema: str, name: str, definition: TableDefinition, parents: list[ResolvedParent]):
    by_spec = {id(p.spec): p.info for p in parents}
    columns: dict[str, Column] = {}
    foreign_keys = []
    for item in definition.items:
        if isinstance(item, AttributeSpec):
            if item.name in columns:
                raise DefinitionError(f"attribute {item.name!r} is already defined by a foreign "
                                      "key above; remove one of the two", line=item.line)
            lineage = f"{schema}.{name}.{item.name}" if item.in_key else None
            columns[item.name] = Column(item.name, item.type, item.in_key, item.nullable,
                                        item.default, item.comment, lineage)
            continue
        info = by_spec[id(item)]
        child_columns = _inherited(item, info, columns)
        foreign_keys.append((item, info, child_columns))
    return list(columns.values()), foreign_keys


def _inherited(spec: ForeignKeySpec, info: TableInfo, columns: dict[str, Column]) -> list[str]:
    """Add the parent's primary key (renamed as asked) to ``columns``; return the names."""
    parent_key = info.heading.primary_key
    renames = dict(spec.renames)
    unknown = set(renames.values()) - set(parent_key)
    if unknown:
        raise DefinitionError(
            f"{spec.ref}.proj(...) renames {', '.join(sorted(unknown))}, which is not in the "
            f"primary key of {info.full_name} ({', '.join(parent_key)})", line=spec.line)
    old_to_new = {old: new for new, old in renames.items()}
    names = []
    for parent_name in parent_key:
        attribute = info.heading[parent_name]
        child_name = old_to_new.get(parent_name, parent_name)
        names.append(child_name)
        existing = columns.get(child_name)
        if existing is not None:
            if existing.lineage != attribute.lineage:
                raise DefinitionError(
                    f"attribute {child_name!r} is already defined with another origin; rename it "
                    f"with -> {spec.ref}.proj({child_name}_2='{parent_name}')", line=spec.line)
            continue
        columns[child_name] = Column(
            child_name, attribute.type, spec.in_key, spec.nullable, None, attribute.comment,
            attribute.lineage or f"{info.full_name}.{parent_name}")
    return names


def _check_key_from_parents(name: str, columns: list[Column], foreign_keys: list) -> None:
    inherited = {c for _, _, child_columns in foreign_keys for c in child_columns}
    own = [c.name for c in columns if c.in_key and c.name not in inherited]
    if own:
        raise DefinitionError(
            f"Computed and Imported tables take their primary key from their parents, but "
            f"{name!r} declares {', '.join(own)} in its primary key. Put each row's extra "
            f"dimensions in a Part table, move the attribute below ---, or set "
            f"dj.config['jobs.allow_new_pk_fields_in_computed_tables'] = True.")


def _marker(column: Column) -> str:
    """The stored comment: core and codec types (and auto_increment) carry their type."""
    if column.type.is_native and not is_auto_increment(column.type):
        return column.comment
    return catalog.make_marker(column.type.text, column.comment)


def _sa_column(dialect, schema: str, column: Column) -> sa.Column:
    sa_type = dialect.sa_type(storage_spec(column.type), schema)
    if is_auto_increment(column.type):
        sa_type = dialect.auto_increment_type(sa_type)
    return sa.Column(
        column.name, sa_type, primary_key=column.in_key, nullable=column.nullable,
        autoincrement=is_auto_increment(column.type),
        server_default=_server_default(dialect, column),
        comment=_marker(column) if dialect.keeps_comments else None,
    )


def _server_default(dialect, column: Column) -> Any:
    default = column.default
    if default is None:
        return None
    if is_blob_like(column.type) and column.type.name != "text":
        raise DefinitionError(f"attribute {column.name!r} of type {column.type.text} can only "
                              "default to null: write `= null`")
    if default.is_expression:
        fsp = column.type.args[0] if column.type.name == "datetime" and column.type.args else 0
        return sa.text(dialect.current_timestamp_default(fsp))
    value = python_default(column.name, column.type, default)
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if isinstance(value, (int, float, decimal.Decimal)):
        return sa.text(str(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def python_default(name: str, spec: TypeSpec, default: Default) -> Any:
    """The Python value of a literal default, checked against the attribute's type."""
    text = default.value
    family = spec.args[0].split("(")[0] if spec.is_native and spec.args else spec.name
    try:
        if family.startswith("int"):
            value: Any = int(text)
        elif family.startswith("float"):
            value = float(text)
        elif family == "bool":
            value = {"true": True, "false": False, "1": True, "0": False}[text.lower()]
        else:
            value = text
        return value_check(spec)(value)
    except (ValueError, KeyError, decimal.InvalidOperation, Exception) as error:
        if isinstance(error, DefinitionError):
            raise
        raise DefinitionError(
            f"default {text!r} of attribute {name!r} is not a valid {spec.text}: {error}") from None


def _fk_constraint(dialect, metadata: sa.MetaData, info: TableInfo, child_columns: list[str]):
    """ON UPDATE CASCADE ON DELETE RESTRICT to the parent's primary key."""
    sa_schema, address = dialect.table_address(info.schema, info.name)
    key = f"{sa_schema}.{address}" if sa_schema else address
    parent = metadata.tables.get(key)
    if parent is None:  # a stand-in naming the parent's key columns; never created
        parent = sa.Table(address, metadata, *[sa.Column(n, sa.Integer, primary_key=True)
                                               for n in info.heading.primary_key],
                          schema=sa_schema)
    targets = [parent.c[n] for n in info.heading.primary_key]
    return sa.ForeignKeyConstraint(child_columns, targets, onupdate="CASCADE", ondelete="RESTRICT")


def _add_indexes(dialect, table: sa.Table, schema: str, name: str,
                 definition: TableDefinition, foreign_keys: list, columns: list[Column]) -> None:
    known = {c.name for c in columns}
    key = [c.name for c in columns if c.in_key]
    covered = [tuple(key)]
    used: set[str] = set()

    def index(number: Any, attributes: Sequence[str], unique: bool) -> None:
        fallback = _index_name(f"{schema}.{name}", number, unique)
        chosen = dialect.index_name(name, attributes, fallback)
        chosen = fallback if chosen in used else chosen
        used.add(chosen)
        sa.Index(chosen, *[table.c[a] for a in attributes], unique=unique)

    for number, declared in enumerate(definition.indexes):
        missing = [a for a in declared.attributes if a not in known]
        if missing:
            raise DefinitionError(f"index refers to unknown attribute(s) {', '.join(missing)}",
                                  line=declared.line)
        index(number, declared.attributes, declared.unique)
        covered.append(declared.attributes)
    for number, (spec, _info, child_columns) in enumerate(foreign_keys):
        if spec.unique:
            index(f"fk{number}", child_columns, True)
            covered.append(tuple(child_columns))
        elif dialect.fk_needs_index() and not any(
                tuple(child_columns) == tuple(cover[:len(child_columns)]) for cover in covered):
            index(f"fk{number}", child_columns, False)


def _index_name(table: str, number: Any, unique: bool) -> str:
    """Unique per database (SQLite's index names are global): a hash of schema.table."""
    import hashlib

    digest = hashlib.md5(table.encode()).hexdigest()[:10]
    return f"{'uq' if unique else 'ix'}_{digest}_{number}"


def create_table(connection: Connection, plan: TablePlan) -> None:
    """Execute a plan; on failure nothing of the table remains."""
    dialect = connection.dialect
    system = catalog.system_tables(connection, plan.schema)

    def rows(sa_connection: sa.Connection) -> None:
        if plan.lineage_rows:
            sa_connection.execute(sa.insert(system[0]), plan.lineage_rows)
        if len(system) > 1 and plan.comment_rows:
            sa_connection.execute(sa.insert(system[1]), plan.comment_rows)

    if not dialect.transactional_ddl:  # each DDL statement commits: undo by hand
        connection.call(lambda c: plan.table.create(c, checkfirst=True))
        try:
            connection.call(rows)
        except Exception:
            connection.call(lambda c: plan.table.drop(c))
            raise
    else:
        connection.call(lambda c: (plan.table.create(c, checkfirst=True), rows(c)))
    catalog_of(connection).changed(CatalogEvent("declare", plan.schema, plan.name))


def forget_table(connection: Connection, schema: str, name: str) -> Callable[[sa.Connection], None]:
    """A step removing a table's lineage and comment rows (run with the DROP)."""
    system = catalog.system_tables(connection, schema)

    def work(sa_connection: sa.Connection) -> None:
        for table in system:
            sa_connection.execute(sa.delete(table).where(table.c.table_name == name))

    return work
