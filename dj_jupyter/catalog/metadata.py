"""Where DataJoint's table metadata is stored, and reading it back.

On PostgreSQL and MySQL the layout is DataJoint 2.x's, so either library reads
what the other wrote: a column comment ``:<declared type>:<comment>`` keeps the
declared type, the table comment keeps the table's comment, and a ``~lineage``
table per schema records where each attribute was born. SQLite has no
comments, so a hidden ``~comments`` table per schema keeps the same text.
Reading uses SQLAlchemy's batch reflection: one pass per schema.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..algebra.heading import Attribute, ForeignKey, Heading, TableInfo
from ..definition.model import Default, IndexSpec, TypeSpec
from ..definition.types import is_auto_increment, parse_type

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["LINEAGE", "COMMENTS", "lineage_table", "comments_table", "load_schema",
           "split_marker", "make_marker", "list_schemas", "table_names", "referencing_schemas",
           "database_exists"]

LINEAGE = "~lineage"
COMMENTS = "~comments"
_MARKER = re.compile(r"^:(?P<type>[^:]*(?:::[^:]*)*?):(?P<comment>.*)$", re.DOTALL)


def make_marker(type_text: str, comment: str) -> str:
    """The stored column comment for a core or codec type."""
    return f":{type_text}:{comment}"


def split_marker(stored: str | None) -> tuple[str | None, str]:
    """(declared type or None, user comment) from a stored column comment."""
    if not stored or not stored.startswith(":"):
        return None, stored or ""
    body = stored[1:]
    end = body.find(":", body.find(">") + 1 if body.startswith("<") else 0)
    if end < 0:
        return None, stored
    return body[:end], body[end + 1:]


def lineage_table(connection: Connection, schema: str,
                  metadata: sa.MetaData | None = None) -> sa.Table:
    sa_schema, name = connection.dialect.table_address(schema, LINEAGE)
    return sa.Table(
        name, metadata or sa.MetaData(),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("attribute_name", sa.String(64), primary_key=True),
        sa.Column("lineage", sa.String(255), nullable=False),
        schema=sa_schema, **connection.dialect.table_options(),
    )


def comments_table(connection: Connection, schema: str,
                   metadata: sa.MetaData | None = None) -> sa.Table:
    """SQLite only: the comments the other backends keep on columns and tables."""
    sa_schema, name = connection.dialect.table_address(schema, COMMENTS)
    return sa.Table(
        name, metadata or sa.MetaData(),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("attribute_name", sa.String(64), primary_key=True),  # "" for the table
        sa.Column("comment", sa.Text, nullable=False),
        schema=sa_schema,
    )


def system_tables(connection: Connection, schema: str) -> list[sa.Table]:
    tables = [lineage_table(connection, schema)]
    if not connection.dialect.keeps_comments:
        tables.append(comments_table(connection, schema))
    return tables


def table_names(connection: Connection, schema: str) -> list[str]:
    """Names of the tables of a schema (hidden ``~`` tables included)."""
    return _inspect(connection, lambda inspector: _table_names(inspector, connection, schema))


def _inspect(connection: Connection, work):
    """Run ``work(inspector)`` on the connection's live DB-API connection.

    Reflecting through the engine would open a new connection per inspector call
    (the engine has no pool), which makes every declare slow on the servers.
    """
    return connection.call(lambda sa_connection: work(sa.inspect(sa_connection)))


def _table_names(inspector: sa.Inspector, connection: Connection, schema: str) -> list[str]:
    sa_schema = connection.dialect.reflect_schema(schema)
    if sa_schema is not None and not inspector.has_schema(sa_schema):
        return []
    names = []
    for name in inspector.get_table_names(schema=sa_schema):
        address = connection.dialect.schema_of_address(sa_schema, name)
        if address and address[0] == schema:
            names.append(address[1])
    return names


def database_exists(connection: Connection, schema: str) -> bool:
    """Whether the schema exists on the server, made by DataJoint or not (on SQLite: whether
    a table carries its name)."""
    return _inspect(connection, lambda inspector: _database_exists(inspector, connection, schema))


def _database_exists(inspector: sa.Inspector, connection: Connection, schema: str) -> bool:
    sa_schema = connection.dialect.reflect_schema(schema)
    if sa_schema is None:
        return bool(_table_names(inspector, connection, schema))
    return bool(inspector.has_schema(sa_schema))


def list_schemas(connection: Connection) -> list[str]:
    """Schemas that hold a ``~lineage`` table, i.e. were created by DataJoint."""
    return _inspect(connection, lambda inspector: _list_schemas(inspector, connection.dialect))


def _list_schemas(inspector: sa.Inspector, dialect) -> list[str]:
    found = set()
    if dialect.reflect_schema("x") is None:
        for name in inspector.get_table_names():
            address = dialect.schema_of_address(None, name)
            if address and address[1] == LINEAGE:
                found.add(address[0])
    else:
        for schema in inspector.get_schema_names():
            if schema in ("information_schema", "pg_catalog", "mysql", "performance_schema", "sys"):
                continue
            if inspector.has_table(LINEAGE, schema=schema):
                found.add(schema)
    return sorted(found)


def referencing_schemas(connection: Connection, schema: str) -> list[str]:
    """Other schemas holding a foreign key to a table of ``schema`` (read from the server's
    catalogue, without reflecting them); on SQLite every other DataJoint schema."""
    query = connection.dialect.referencing_schemas(schema)
    if query is None:
        return [s for s in list_schemas(connection) if s != schema]
    return sorted({row[0] for row in connection.execute(query)} - {schema})


def load_schema(connection: Connection, schema: str) -> dict[str, TableInfo]:
    """Every (non-hidden) table of a schema, with heading, comment, keys and lineage."""
    dialect = connection.dialect
    sa_schema = dialect.reflect_schema(schema)
    names = [n for n in table_names(connection, schema) if not n.startswith("~")]
    if not names:
        return {}
    addresses = {dialect.table_address(schema, n)[1]: n for n in names}
    filter_names = list(addresses)

    def reflect(inspector: sa.Inspector) -> tuple:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            options = {"schema": sa_schema, "filter_names": filter_names}
            return (inspector.get_multi_columns(**options),
                    inspector.get_multi_pk_constraint(**options),
                    inspector.get_multi_foreign_keys(**options),
                    inspector.get_multi_indexes(**options),
                    inspector.get_multi_unique_constraints(**options),
                    inspector.get_multi_table_comment(**options)
                    if dialect.keeps_comments else {})

    columns, keys, foreign, indexes, uniques, comments = _inspect(connection, reflect)
    stored_comments = {} if dialect.keeps_comments else _read_comments(connection, schema)
    lineage = read_lineage(connection, schema)
    tables = {}
    for (_, address), column_list in columns.items():
        name = addresses[address]
        pk = keys[(sa_schema, address)]["constrained_columns"]
        table_comment = ((comments.get((sa_schema, address)) or {}).get("text") or ""
                         if dialect.keeps_comments else stored_comments.get((name, ""), ""))
        heading_attrs = [
            _attribute(column, column["name"] in pk, schema, name, lineage, stored_comments,
                       dialect.keeps_comments)
            for column in column_list
        ]
        # Key first (a stable sort); hidden columns (a key-less table's ``_singleton``) fill
        # themselves and are invisible to every query.
        ordered = sorted((a for a in heading_attrs if not a.is_hidden), key=lambda a: not a.in_key)
        unique_sets = {tuple(u["column_names"]) for u in uniques.get((sa_schema, address), [])}
        unique_sets |= {tuple(i["column_names"]) for i in indexes.get((sa_schema, address), [])
                        if i.get("unique")}
        fks = tuple(
            _foreign_key(connection, schema, name, fk, pk, heading_attrs, unique_sets)
            for fk in foreign.get((sa_schema, address), [])
        )
        fk_index_sets = {fk.child_attributes for fk in fks}
        index_specs = tuple(
            IndexSpec(tuple(i["column_names"]), bool(i.get("unique")))
            for i in indexes.get((sa_schema, address), [])
            if tuple(i["column_names"]) not in fk_index_sets and None not in i["column_names"]
        ) + tuple(IndexSpec(cols, True) for cols in unique_sets
                  if cols not in fk_index_sets and cols not in
                  {tuple(i["column_names"]) for i in indexes.get((sa_schema, address), [])})
        heading = Heading(tuple(ordered), index_specs)
        hidden = tuple(a.name for a in heading_attrs if a.is_hidden)
        tables[name] = TableInfo(schema, name, heading, table_comment, fks, hidden)
    return tables


def read_lineage(connection: Connection, schema: str) -> dict[tuple[str, str], str]:
    table = lineage_table(connection, schema)
    try:
        rows = connection.execute(sa.select(table.c.table_name, table.c.attribute_name,
                                            table.c.lineage)).all()
    except sa.exc.DBAPIError:
        return {}
    return {(t, a): lineage for t, a, lineage in rows}


def _read_comments(connection: Connection, schema: str) -> dict[tuple[str, str], str]:
    table = comments_table(connection, schema)
    rows = connection.execute(sa.select(table.c.table_name, table.c.attribute_name,
                                        table.c.comment)).all()
    return {(t, a): c for t, a, c in rows}


def _attribute(column: dict, in_key: bool, schema: str, table: str, lineage: dict,
               stored_comments: dict, keeps_comments: bool) -> Attribute:
    raw_comment = column.get("comment") if keeps_comments else stored_comments.get(
        (table, column["name"]))
    declared, comment = split_marker(raw_comment)
    sql_type = _type_text(column["type"])
    if declared:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = parse_type(declared)
    else:
        spec = _infer_type(column["type"], sql_type)
    nullable = bool(column.get("nullable")) and not in_key
    # an auto_increment column's server default is the server's counter (nextval, ...)
    default = None if nullable or is_auto_increment(spec) \
        else parse_server_default(column.get("default"))
    return Attribute(
        name=column["name"], type=spec, in_key=in_key, nullable=nullable, default=default,
        comment=comment, lineage=lineage.get((table, column["name"])), sql_type=sql_type,
    )


def _type_text(sa_type: sa.types.TypeEngine) -> str:
    try:
        return str(sa_type).lower()
    except Exception:  # noqa: BLE001 - some reflected types cannot render without a dialect
        return type(sa_type).__name__.lower()


def _infer_type(sa_type: sa.types.TypeEngine, sql_type: str) -> TypeSpec:
    """A native type of a table declared without markers (e.g. by hand)."""
    checks: list[tuple[type, str]] = [
        (sa.Boolean, "bool"), (sa.BigInteger, "int64"), (sa.SmallInteger, "int16"),
        (sa.Integer, "int32"), (sa.Double, "float64"), (sa.Float, "float32"),
        (sa.Numeric, "decimal"), (sa.DateTime, "datetime"), (sa.Date, "date"),
        (sa.JSON, "json"), (sa.Uuid, "uuid"), (sa.LargeBinary, "bytes"), (sa.Enum, "enum"),
        (sa.Text, "text"), (sa.String, "varchar"),
    ]
    for kind, core in checks:
        if isinstance(sa_type, kind):
            if core == "decimal":
                core = f"decimal({sa_type.precision or 10},{sa_type.scale or 0})"
            elif core == "varchar":
                core = f"varchar({sa_type.length})" if sa_type.length else "text"
            elif core == "enum":
                core = "enum(" + ",".join(f"'{v}'" for v in sa_type.enums) + ")"
            return TypeSpec("native", (core,), sql_type)
    if "blob" in sql_type or "binary" in sql_type:  # MySQL's (LONG)BLOB is no LargeBinary
        return TypeSpec("native", ("bytes",), sql_type)
    return TypeSpec("native", ("text",), sql_type)


# a trailing PostgreSQL cast: ::text, ::character varying(20), ::"schema".enum_1a2b3c4d
_CAST = re.compile(r"::[a-z0-9_ .\"]+(\(\d+(,\d+)?\))?$", re.IGNORECASE)


def parse_server_default(text: str | None) -> Default | None:
    """A :class:`Default` from reflected SQL default text (``'x'::text``, ``5``, ``NULL``)."""
    if text is None:
        return None
    value = _CAST.sub("", text.strip())
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    if value.upper() in ("NULL", ""):
        return None
    upper = value.upper()
    if upper.startswith("CURRENT_TIMESTAMP") or upper in ("NOW()", "LOCALTIMESTAMP") or \
            upper.startswith("LOCALTIMESTAMP"):
        return Default("CURRENT_TIMESTAMP", is_expression=True)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return Default(value[1:-1].replace("''", "'").replace("\\'", "'"))
    return Default(value)


def _foreign_key(connection: Connection, schema: str, table: str, fk: dict, pk: list[str],
                 attributes: Iterable[Attribute], unique_sets: set) -> ForeignKey:
    dialect = connection.dialect
    parent_address = dialect.schema_of_address(fk.get("referred_schema"), fk["referred_table"])
    if parent_address is None:
        parent_address = (schema, fk["referred_table"])
    parent_schema, parent_table = parent_address
    child_columns = tuple(fk["constrained_columns"])
    nullable = any(a.nullable for a in attributes if a.name in child_columns)
    return ForeignKey(
        child=f"{schema}.{table}", parent=f"{parent_schema}.{parent_table}",
        attr_map=tuple(zip(child_columns, fk["referred_columns"])),
        primary=set(child_columns) <= set(pk), nullable=nullable,
        unique=child_columns in unique_sets,
    )


def fill_missing_lineage(schema: str, tables: dict[str, TableInfo],
                         parent_info: Callable[[str], TableInfo | None]) -> dict[str, TableInfo]:
    """Tables whose missing lineage is rebuilt from their foreign keys (parents first).

    A native primary-key attribute is born in its table; an attribute a foreign key brings
    has its parent attribute's lineage; a native secondary attribute has none.
    """
    done: dict[str, TableInfo] = {}

    def resolve(name: str, trail: tuple[str, ...] = ()) -> TableInfo:
        if name in done:
            return done[name]
        info = tables[name]
        if name in trail:  # pragma: no cover - foreign keys cannot form cycles
            return info
        origins: dict[str, str] = {}
        for fk in info.foreign_keys:
            parent_schema, _, parent_table = fk.parent.partition(".")
            parent = resolve(parent_table, (*trail, name)) if parent_schema == schema \
                and parent_table in tables else parent_info(fk.parent)
            for child, parent_attr in fk.attr_map:
                lineage = parent.heading[parent_attr].lineage if parent is not None and \
                    parent_attr in parent.heading else None
                origins.setdefault(child, lineage or f"{fk.parent}.{parent_attr}")
        attributes = tuple(
            a if a.lineage else replace(a, lineage=origins.get(a.name) or (
                f"{schema}.{name}.{a.name}" if a.in_key else None))
            for a in info.heading.attributes_)
        done[name] = replace(info, heading=Heading(attributes, info.heading.indexes))
        return done[name]

    for table in tables:
        resolve(table)
    return done
