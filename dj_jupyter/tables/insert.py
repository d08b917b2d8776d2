"""Inserting rows: any row source as columns (:mod:`.rows`), checked, then one executemany.

Rows may be anything :mod:`.rows` reads, or another query (INSERT ... SELECT).
Checks happen before anything is sent, and the executemany runs in
one transaction, so a failed insert writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.compiler import compile_select
from ..algebra.values import MISSING, column_validator
from ..backends.dialect import ErrorKind
from ..catalog.catalog import catalog_of
from ..catalog.declare import PROVENANCE_COLUMN, python_default
from ..definition.model import TypeSpec
from ..definition.types import is_auto_increment
from ..errors import (
    DataJointError,
    DataTypeError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    QueryError,
    RestrictionError,
    UnknownAttributeError,
)
from ..objects.codecs import storage_spec, uses_store
from ..objects.stores import journal
from .row_provenance import captures, payload
from .rows import is_frame, is_structured_array, row_sequence, to_columns

if TYPE_CHECKING:
    from .table import Table

__all__ = ["insert_rows", "insert_query", "ValidationResult", "validate_rows", "default_value",
           "translate_error"]

PROVENANCE_SPEC = TypeSpec("json", (), "json")


def _select_names(table: Table, names: list[str], ignore_extra_fields: bool) -> list[str]:
    heading = table.heading
    unknown = [n for n in names if n not in heading]
    if unknown and not ignore_extra_fields:
        raise UnknownAttributeError(
            f"{table.full_table_name}: unknown attribute(s) {', '.join(map(repr, unknown))}; the "
            f"table has {', '.join(heading.names)}. Pass ignore_extra_fields=True to drop them.")
    kept = [n for n in names if n in heading]
    missing = [a.name for a in heading.attributes.values()
               if a.name not in kept and not is_auto_increment(a.type)
               and (a.in_key or (not a.nullable and a.default is None))]
    if missing and not names:
        key = [n for n in missing if heading[n].in_key]
        raise MissingAttributeError(
            f"Cannot insert empty row into {table.full_table_name}: attributes "
            f"{', '.join(map(repr, missing))} require values (they have no default"
            + (f"; {', '.join(map(repr, key))} of the primary key" if key else "")
            + f"). Give them in each row, e.g. "
            f"insert1({{{', '.join(f'{n!r}: ...' for n in missing)}}}).")
    if missing:
        raise MissingAttributeError(
            f"{table.full_table_name}: rows lack {', '.join(map(repr, missing))}, which "
            "have no default. Add them to every row, or declare a default (`name = value : type`)"
            " or `= null` in the definition.")
    return kept


def insert_rows(table: Table, rows: Any, *, replace: bool = False, skip_duplicates: bool = False,
                ignore_extra_fields: bool = False, chunk_size: int | None = None) -> int:
    """Insert ``rows`` into ``table``; return how many rows were sent."""
    connection = table.connection
    names, columns, count = to_columns(rows, table)
    if not count:
        return 0
    plan = _plan(table, connection, tuple(names), ignore_extra_fields, captures(table))
    columns = [columns[i] for i in plan.positions]
    # Objects are written while store values are encoded, so those columns go last (after
    # every other value is known to be valid); the journal removes the objects the rows own
    # if anything fails, here or in the transaction around this insert (see core/gc.py).
    with journal(connection) if plan.uses_store else _NO_JOURNAL as written:
        checked: dict[str, list] = {}
        for column in plan.columns:
            values = columns[column.position]
            keys = _codec_keys(table, column.name, checked, len(values)) \
                if column.in_store else None
            checked[column.name] = column.validator()(values, keys)
        bound = [_bound(checked[column.name], column.bind) for column in plan.in_order]
        if plan.hidden:  # provenance.capture: the same record for every row of this insert
            record = payload(table)
            bind = connection.dialect.binder(PROVENANCE_SPEC)
            bound.append([None if record is None else bind(record)] * count)
        bulk = bool(bound) and len(bound[0]) >= BULK_ROWS \
            and connection.dialect.bulk_loads(plan.stored_types)
        sql, order, copying = plan.statement(table, replace, skip_duplicates, bulk)
        data = list(zip(*(bound[i] for i in order))) if bound else [()] * count
        if written is not None:  # encoding many rows may take long: objects stay fresh
            written.keep_fresh()
        try:
            _send(connection, sql, copying, data, chunk_size,
                  lambda error: translate_error(table, error))
        except BaseException as error:
            from_driver = isinstance(error, (sa.exc.DBAPIError, *connection._driver_errors()))
            _failed_part_way(table, connection, len(data), error, from_driver)
            if from_driver:
                raise translate_error(table, error) from None
            raise
    return len(data)


@dataclass
class ValidationResult:
    """What ``Table.validate(rows)`` found: true when every row would insert.

    ``errors`` holds ``(row_index, attribute or None, message)``; foreign keys, unique
    indexes and store objects are checked only by the insert itself.
    """

    is_valid: bool
    errors: list = field(default_factory=list)
    rows_checked: int = 0

    def __bool__(self) -> bool:
        return self.is_valid

    def summary(self) -> str:
        if self.is_valid:
            return f"Validation passed: {self.rows_checked} rows checked"
        lines = [f"Validation failed: {len(self.errors)} error(s) in {self.rows_checked} rows"]
        for row, name, message in self.errors[:10]:
            where = f" in field '{name}'" if name else ""
            lines.append(f"  Row {row}{where}: {message}")
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more errors")
        return "\n".join(lines)

    def raise_if_invalid(self) -> None:
        if not self.is_valid:
            raise DataTypeError(self.summary())


def validate_rows(table: Table, rows: Any, *, ignore_extra_fields: bool = False
                  ) -> ValidationResult:
    """Check each row as ``insert`` would, writing nothing (store values are not encoded)."""
    if is_frame(rows):  # as insert reads it (a named index as columns), one dict per row
        names, columns, _ = to_columns(rows, table)
        rows = [dict(zip(names, values)) for values in zip(*columns)]
    elif is_structured_array(rows):
        rows = list(rows)
    else:
        rows = row_sequence(rows)
    errors: list = []
    connection = table.connection
    for index, row in enumerate(rows):
        try:
            names, columns, _ = to_columns([row], table)
            plan = _plan(table, connection, tuple(names), ignore_extra_fields)
        except DataJointError as error:
            errors.append((index, None, str(error)))
            continue
        for column in plan.columns:
            if column.in_store:
                continue
            try:
                column.validator()(columns[plan.positions[column.position]], None)
            except DataJointError as error:
                errors.append((index, column.name, str(error)))
    return ValidationResult(not errors, errors, len(rows))


def _failed_part_way(table: Table, connection, count: int, error: BaseException,
                     from_driver: bool) -> None:
    """A send that failed inside an open transaction may have left rows there (an
    executemany stops at the failing row, chunks before it went through; an interrupt may
    come after the server ran the statement): the transaction can then only roll back,
    taking those rows and their objects with it. Only a driver error on a one-row statement
    is known to leave nothing. Outside a transaction the statement's own transaction was
    rolled back already."""
    if connection.in_transaction and (count > 1 or not from_driver):
        connection.doom(f"an insert of {count} row(s) into {table.full_table_name} failed "
                        f"part-way ({type(error).__name__})")


_NO_JOURNAL = contextlib.nullcontext()


def _bound(values: list, bind: Callable[[Any], Any] | None) -> list:
    """Checked values as the driver takes them (None stays None)."""
    if bind is None:
        return values
    return [v if v is None else bind(v) for v in values]


@dataclass(frozen=True)
class _PlannedColumn:
    """How one attribute's values are checked and bound for the driver."""

    name: str
    position: int  # in the kept columns
    in_store: bool
    bind: Callable[[Any], Any] | None
    validator: Callable[[], Callable[..., list]]  # a fresh one when the default is now()


@dataclass(frozen=True)
class _InsertPlan:
    """What an insert of rows with these attribute names does, worked out once per table."""

    names: tuple[str, ...]  # as the rows give them
    kept: list[str]  # the table's attributes among them
    positions: list[int]  # of the kept names among ``names``
    columns: list[_PlannedColumn]  # in check order: values kept in the database first
    in_order: list[_PlannedColumn]  # in ``kept`` order
    uses_store: bool
    stored_types: tuple  # of the kept columns, as the database stores them (codecs resolved)
    hidden: tuple[str, ...] = ()  # platform columns filled by the insert itself (``_prov``)
    statements: dict = field(default_factory=dict)  # by (replace, skip_duplicates, bulk)

    def statement(self, table: Table, replace: bool, skip_duplicates: bool,
                  bulk: bool) -> tuple[str, list[int], bool]:
        """(SQL for the driver, order of ``kept`` in its parameters, whether it is a COPY)."""
        flags = (replace, skip_duplicates, bulk)
        made = self.statements.get(flags)
        if made is None:
            made = self.statements[flags] = _build_statement(table, [*self.kept, *self.hidden],
                                                             *flags)
        return made


def _plan(table: Table, connection, names: tuple[str, ...], ignore_extra_fields: bool,
          provenance: bool = False) -> _InsertPlan:
    """The plan for rows with these names, cached per connection (DDL clears the cache)."""
    key = ("insert plan", table.full_name, names, ignore_extra_fields, provenance)
    cache = catalog_of(connection).cache("statements")
    plan = cache.get(key)
    if plan is None:
        plan = cache[key] = _build_plan(table, connection, names, ignore_extra_fields,
                                        provenance)
    return plan


def _build_plan(table: Table, connection, names: tuple[str, ...], ignore_extra_fields: bool,
                provenance: bool = False) -> _InsertPlan:

    heading = table.heading
    kept = _select_names(table, list(names), ignore_extra_fields)
    label = table.full_table_name
    dialect = connection.dialect
    planned = []
    for position, name in enumerate(kept):
        attribute = heading[name]
        planned.append(_PlannedColumn(name, position, uses_store(attribute.type),
                                      dialect.binder(storage_spec(attribute.type)),
                                      _validator_factory(label, attribute)))
    return _InsertPlan(names, kept, [names.index(n) for n in kept],
                       sorted(planned, key=lambda c: c.in_store), planned,
                       any(c.in_store for c in planned),
                       tuple(storage_spec(heading[n].type) for n in kept)
                       + ((PROVENANCE_SPEC,) if provenance else ()),
                       hidden=(PROVENANCE_COLUMN,) if provenance else ())


def _validator_factory(label: str, attribute) -> Callable[[], Callable[..., list]]:
    """The column check of one attribute; made once unless its default is the current time."""
    def make() -> Callable[..., list]:
        return column_validator(label, attribute.name, attribute.type,
                                nullable=attribute.nullable, default=default_value(attribute))

    if attribute.default is not None and attribute.default.is_expression:
        return make
    made = make()
    return lambda: made


def _codec_keys(table: Table, field: str, checked: dict[str, list], count: int) -> list[dict]:
    """Per row, what a store codec is told about the row: schema, table, field, key values."""
    base = {"_schema": table.database, "_table": table.table_name, "_field": field}
    key = [k for k in table.heading.primary_key if k in checked]
    return [{**base, **{k: checked[k][row] for k in key}} for row in range(count)]


def _send(connection, sql: str, copying: bool, data: list[tuple], chunk_size: int | None,
          translate: Callable[[BaseException], Exception]) -> None:
    """Send all rows, in chunks, in one transaction (``translate``: the error a failure
    raises, when a staged transaction sends them at its commit)."""
    chunk = chunk_size or len(data) or 1
    if not copying and chunk >= len(data):  # one statement (make's inserts): no loop
        connection.run(sql, data, many=True, translate=translate)
        return
    with contextlib.nullcontext() if connection.in_transaction else connection.transaction:
        for start in range(0, len(data), chunk):
            rows = data[start:start + chunk]
            if copying:
                connection.copy_rows(sql, rows)
            else:
                connection.run(sql, rows, many=True, translate=translate)


def default_value(attribute) -> object:
    """What None (or an absent value) in a row stands for: the declared default."""
    if attribute.default is None:
        return MISSING
    if attribute.default.is_expression:  # CURRENT_TIMESTAMP, as the server would fill it
        import datetime as dt

        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return python_default(attribute.name, attribute.type, attribute.default)


BULK_ROWS = 64  # from this many rows on, a backend's bulk path (COPY) beats INSERT


def _build_statement(table: Table, names: list[str], replace: bool, skip_duplicates: bool,
                     bulk: bool) -> tuple[str, list[int], bool]:
    connection = table.connection
    dialect = connection.dialect
    key = table.heading.primary_key
    sa_schema, address = dialect.table_address(table.database, table.table_name)
    target = sa.Table(address, sa.MetaData(),
                      *[sa.Column(n, sa.types.NULLTYPE, primary_key=n in key) for n in names],
                      schema=sa_schema)
    loader = dialect.bulk_insert(target, names) if bulk and not (replace or skip_duplicates) \
        else None
    if loader is not None:
        return connection.compile(loader)[0], list(range(len(names))), True
    if not names:  # rows of defaults only (``insert1({})``): an auto-increment key is new
        statement = sa.insert(target)
    elif replace:
        statement = dialect.insert_replacing(target, key, names)
    elif skip_duplicates:
        statement = dialect.insert_skipping_duplicates(target, key)
    else:
        statement = sa.insert(target)
    statement = statement.values({n: sa.bindparam(n) for n in names})
    compiled = statement.compile(dialect=connection.engine.dialect)
    if not compiled.positional:  # pragma: no cover - engines use positional paramstyles
        raise QueryError("the driver must use a positional parameter style")
    return compiled.string, [names.index(p) for p in compiled.positiontup], False


def insert_query(table: Table, query, *, skip_duplicates: bool = False,
                 ignore_extra_fields: bool = False, replace: bool = False,
                 chunk_size: int | None = None) -> None:
    """INSERT ... SELECT: copy the rows of a query, server-side (one statement: neither
    ``replace`` nor ``chunk_size`` apply)."""
    if chunk_size is not None or replace:
        option = "chunk_size" if chunk_size is not None else "replace"
        raise RestrictionError(
            f"{option} is not supported for an insert from a query (it runs as one INSERT ... "
            f"SELECT on the server); leave out {option}, or fetch the rows and insert them")
    names = _select_names(table, query.heading.names, ignore_extra_fields)
    dialect = table.connection.dialect
    sa_schema, address = dialect.table_address(table.database, table.table_name)
    target = sa.Table(address, sa.MetaData(),
                      *[sa.Column(n, sa.types.NULLTYPE, primary_key=n in table.primary_key)
                        for n in names], schema=sa_schema)
    insert = dialect.insert_skipping_duplicates(target, table.primary_key) if skip_duplicates \
        else sa.insert(target)
    select = compile_select(query.node, dialect, names=names)
    try:
        table.connection.execute(dialect.insert_from_select(insert, names, select))
    except (sa.exc.DBAPIError, *table.connection._driver_errors()) as error:
        raise translate_error(table, error) from None


def translate_error(table: Table, error: BaseException) -> Exception:
    """A DataJoint error naming the table and the fix, for a driver error."""
    kind = table.connection.dialect.classify(error)
    detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
    name = table.full_table_name
    if kind == ErrorKind.DUPLICATE:
        return DuplicateError(
            f"{name}: a row with the same primary key (or unique value) exists already "
            f"({detail}). Pass skip_duplicates=True to skip existing rows, or replace=True to "
            "overwrite them.")
    if kind == ErrorKind.FOREIGN_KEY:
        # From the cached catalogue: inside a failed PostgreSQL transaction the server
        # answers no query until the rollback.
        parents = ", ".join(dict.fromkeys(fk.parent for fk in table.info.foreign_keys)) \
            or "its parents"
        return IntegrityError(
            f"{name}: a row refers to a parent row that does not exist in {parents} "
            f"({detail}). Insert the parent rows first.")
    if kind == ErrorKind.NOT_NULL:
        return MissingAttributeError(f"{name}: a required attribute is missing ({detail}). "
                                     "Give a value, or declare the attribute `= null`.")
    if kind in (ErrorKind.OUT_OF_RANGE, ErrorKind.BAD_VALUE):
        return DataTypeError(f"{name}: a value does not fit its attribute ({detail}).")
    return QueryError(f"{name}: {detail}")

