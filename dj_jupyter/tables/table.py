"""Stored tables: the ``Table`` base class behind Manual, Lookup, Imported, Computed and Part.

A table class is bound to a schema by ``@schema``. Its public methods work on
the class as well as on an instance (``Subject.insert1(row)``,
``Subject & key``), because each is wrapped in :class:`_ClassOrInstance`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

from ..algebra.nodes import Node, TableNode, selected_table
from ..backends.connection import conn as default_connection
from ..catalog import naming
from ..catalog.catalog import catalog_of, graph_for
from ..catalog.describe import describe as describe_table
from ..catalog.events import CatalogEvent
from ..errors import DataJointError, MissingTableError, PermissionDeniedError, RestrictionError
from ..query.expression import QueryExpression
from . import alter as table_alter
from . import cascade, staged
from .insert import (
    ValidationResult,
    insert_query,
    insert_rows,
    validate_rows,
)
from .insert_guard import is_populating
from .rows import frame_for_insert
from .update import update_row

if TYPE_CHECKING:
    from ..algebra.heading import TableInfo
    from ..backends.connection import Connection

__all__ = ["Table", "FreeTable"]

# Members callable on the class as well as on an instance (see _ClassOrInstance). A class
# (or mixin, such as AutoPopulate) lists its own in ``_class_level``; the metaclass wraps them.
_CLASS_LEVEL = (
    "insert", "insert1", "update1", "delete", "delete_quick", "delete_preview", "drop",
    "drop_quick", "describe", "parents", "children", "ancestors", "descendants", "parts",
    "restrict", "proj", "join", "extend", "aggr", "aggregate", "to_dicts", "to_pandas",
    "to_polars", "to_arrow", "to_arrays", "preview", "keys", "fetch1", "fetch", "head",
    "tail", "heading", "primary_key", "full_table_name", "table_name", "database", "connection",
    "info", "is_declared", "full_name", "make_sql", "node", "master", "alter",
    "staged_insert1", "validate", "insert_dataframe",
)


class _ClassOrInstance:
    """A method or property usable on the class (acting on a fresh instance) or an instance."""

    def __init__(self, member: Any):
        self.member = member
        functools.update_wrapper(self, member.fget if isinstance(member, property) else member)

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            if not owner._is_bound():
                return self._unbound(owner)
            instance = owner()
        return self.member.__get__(instance, owner)

    def _unbound(self, owner: type) -> Any:
        """The member of a class no schema has bound: on a user's table class (it has a
        definition of its own), a call fails with the fix; on the tier classes, the member."""
        if "definition" not in owner.__dict__:
            return self.member if not isinstance(self.member, property) else self
        if isinstance(self.member, property):
            raise _undecorated(owner)

        @functools.wraps(self.member)
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise _undecorated(owner)

        return refuse


def _undecorated(owner: type) -> MissingTableError:
    return MissingTableError(
        f"{owner.__name__} is not properly configured: it is not part of an active schema "
        "yet. Decorate the class with @schema (a dj.Schema) before using it; a schema made "
        "without a name declares its tables once you call schema.activate('name')")


class _TableMeta(type):
    """Lets the class itself take part in query operators and iteration, and makes the members
    every class of the hierarchy lists in ``_class_level`` usable on the class (one mechanism
    for Table, its tiers, mixins such as AutoPopulate, and user subclasses)."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
                 **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        names = {n for klass in cls.__mro__ for n in klass.__dict__.get("_class_level", ())}
        for member_name in names:
            member = next((klass.__dict__[member_name] for klass in cls.__mro__
                           if member_name in klass.__dict__), None)
            # a plain value (``key_source = Parent & "x"``) is the same on class and instance
            if member is not None and not isinstance(member, _ClassOrInstance) and hasattr(
                    type(member), "__get__"):
                setattr(cls, member_name, _ClassOrInstance(member))

    def __and__(cls, other):
        return cls() & other

    def __sub__(cls, other):
        return cls() - other

    def __mul__(cls, other):
        return cls() * other

    def __add__(cls, other):
        return cls() + other

    def __iter__(cls):
        return iter(cls())

    def __len__(cls):
        return len(cls())

    def __bool__(cls):
        return True

    def __contains__(cls, item):
        return item in cls()


class _Deletable:
    """Deleting the rows of a stored table or of a restriction of one (``Table`` and
    ``_Restricted`` alike): the cascade, its preview, and the quick delete."""

    def delete(self, transaction: bool = True, prompt: bool | None = None,
               part_integrity: str = "enforce") -> int:
        """Delete these rows and, in one transaction, every row that depends on them."""
        return cascade.delete(self, transaction=transaction, prompt=prompt,
                              part_integrity=part_integrity)

    def delete_preview(self, part_integrity: str = "enforce") -> dict[str, int]:
        """Rows per table that :meth:`delete` would remove; removes nothing."""
        return dict(cascade.plan_delete(self, part_integrity).counts)

    def delete_quick(self, get_count: bool = False) -> int | None:
        """Delete these rows only (no cascade, no prompt); dependents make it fail."""
        count = cascade.delete_quick(self)
        return count if get_count else None


class Table(_Deletable, QueryExpression, metaclass=_TableMeta):
    """Base class of stored tables; subclass a tier (``dj.Manual`` etc.), not this."""

    definition: ClassVar[str] = ""
    _tier: ClassVar[str] = ""
    _schema: ClassVar[Any] = None  # the dj.Schema that bound this class (pipeline layer)
    _table_name: ClassVar[str | None] = None  # set for classes made from existing tables
    _master: ClassVar[type | None] = None
    _class_level: ClassVar[tuple[str, ...]] = _CLASS_LEVEL

    def __init__(self) -> None:
        """An instance of a class no schema has bound can be made (as in DataJoint); its
        first use raises :class:`MissingTableError` saying to decorate the class."""

    @classmethod
    def _is_bound(cls) -> bool:
        """Whether ``@schema`` has bound this very class (not just a base class)."""
        return cls.__dict__.get("_schema") is not None

    # -- identity ----------------------------------------------------------------------
    def _bound_schema(self) -> Any:
        if not self._is_bound():
            raise _undecorated(type(self))
        return self._schema

    @property
    def connection(self) -> Connection:
        return self._bound_schema().connection

    @property
    def database(self) -> str:
        return self._bound_schema().database

    @property
    def table_name(self) -> str:
        return type(self)._sql_name()

    @classmethod
    def _sql_name(cls) -> str:
        cached = cls.__dict__.get("_table_name_cache")
        if cached:
            return cached
        if cls._table_name:
            name = cls._table_name
        elif cls._master is not None:
            name = naming.table_name("Part", cls.__name__, cls._master._sql_name())
        else:
            name = naming.table_name(cls._tier, cls.__name__)
        cls._table_name_cache = name
        return name

    @property
    def full_table_name(self) -> str:
        return self._quoted(self.database, self.table_name)

    def _quoted(self, schema: str, name: str) -> str:
        preparer = self.connection.engine.dialect.identifier_preparer
        sa_schema, address = self.connection.dialect.table_address(schema, name)
        quoted = preparer.quote_identifier(address)
        return f"{preparer.quote_identifier(sa_schema)}.{quoted}" if sa_schema else quoted

    @property
    def info(self) -> TableInfo:
        return self._table_node().info

    @property
    def node(self) -> Node:
        return self._table_node()

    def _table_node(self) -> TableNode:
        """This table's node, kept until DDL changes the catalogue (the hot path of make)."""
        connection = self.connection
        cached = self.__dict__.get("_node_cache")
        if cached is not None and cached[0] == catalog_of(connection).generation:
            return cached[1]
        info = catalog_of(connection).table_info(self.database, self.table_name)
        if info is None:
            raise MissingTableError(
                f"table {self.full_table_name} is not declared in the database; decorate "
                f"{type(self).__name__} with @schema (create_tables=True) to declare it")
        node = TableNode(info)
        self.__dict__["_node_cache"] = (catalog_of(connection).generation, node)
        return node

    def _derive(self, node: Node) -> QueryExpression:
        return _Restricted(self, node)

    @property
    def is_declared(self) -> bool:
        return catalog_of(self.connection).table_info(self.database, self.table_name) is not None

    # -- data in ---------------------------------------------------------------------------
    _allow_insert: ClassVar[bool] = True

    def insert(self, rows: Any, *, replace: bool = False, skip_duplicates: bool = False,
               ignore_extra_fields: bool = False, allow_direct_insert: bool | None = None,
               chunk_size: int | None = None) -> None:
        """Insert rows (dicts, records, a DataFrame, or a query); all or nothing."""
        self._check_insert_allowed(allow_direct_insert)
        source = rows() if isinstance(rows, type) and issubclass(rows, QueryExpression) else rows
        if isinstance(source, QueryExpression):
            insert_query(self, source, skip_duplicates=skip_duplicates, replace=replace,
                         ignore_extra_fields=ignore_extra_fields, chunk_size=chunk_size)
            return
        insert_rows(self, source, replace=replace, skip_duplicates=skip_duplicates,
                    ignore_extra_fields=ignore_extra_fields, chunk_size=chunk_size)

    def insert_dataframe(self, df: Any, index_as_pk: bool | None = None, **kwargs: Any) -> None:
        """Insert a pandas DataFrame, its index as the primary key when it is one (see
        :func:`.rows.frame_for_insert`); other options as :meth:`insert`."""
        self.insert(frame_for_insert(df, self.primary_key, index_as_pk), **kwargs)

    def validate(self, rows: Any, *, ignore_extra_fields: bool = False) -> ValidationResult:
        """Check rows as :meth:`insert` would, inserting nothing (DataJoint's ``validate``).

        The result is true when every row passes; ``.errors`` lists ``(row, attribute,
        message)``, ``.summary()`` says it in words, ``.raise_if_invalid()`` raises.
        """
        return validate_rows(self, rows, ignore_extra_fields=ignore_extra_fields)

    def insert1(self, row: Any, **kwargs: Any) -> None:
        """Insert one row (a dict or a record)."""
        self.insert((row,), **kwargs)

    @property
    def staged_insert1(self):
        """``with T.staged_insert1 as staged:`` write objects in place, then insert one row
        (see :mod:`.staged`)."""
        return staged.staged_insert1(self)

    def _check_insert_allowed(self, allow_direct_insert: bool | None) -> None:
        if self._allow_insert or allow_direct_insert or is_populating(self.full_name):
            return
        raise PermissionDeniedError(
            f"{type(self).__name__} is a {self._tier} table: its rows are made by populate(). "
            "Call populate(), or pass allow_direct_insert=True to insert by hand.")

    def update1(self, row: dict) -> None:
        """Correct secondary attributes of one existing row (``row`` has its full primary key)."""
        update_row(self, row)

    # -- removing: delete, delete_preview and delete_quick from _Deletable --------------------
    def drop(self, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
        """Drop this table and every table depending on it, after showing what goes."""
        names = graph_for(self.connection, [self.full_name]).descendants([self.full_name])
        try:
            cascade.drop(self, prompt=prompt, part_integrity=part_integrity)
        finally:
            _announce_dropped(self.connection, names)

    def drop_quick(self) -> None:
        try:
            cascade.drop_quick(self)
        finally:
            _announce_dropped(self.connection, [self.full_name])

    def alter(self, prompt: bool = True, context: dict | None = None) -> Any:
        """Change secondary attributes and the table comment to match ``definition``."""
        return table_alter.alter(self, prompt=prompt, context=context)

    # -- introspection --------------------------------------------------------------------------
    def describe(self, context: dict | None = None, printout: bool = False) -> str:
        """A definition that declares this same table."""
        text = describe_table(self, context)
        if printout:
            print(text)
        return text

    def parents(self, primary: bool | None = None, as_objects: bool = False,
                foreign_key_info: bool = False):
        """The tables this one references, by ``full_table_name`` (quoted, as DataJoint names
        them); ``primary``: only foreign keys within (True) or reaching outside (False) the
        primary key; ``as_objects``: ``FreeTable`` objects; ``foreign_key_info``: (table,
        properties) per foreign key."""
        return self._related("parents", primary, as_objects, foreign_key_info)

    def children(self, primary: bool | None = None, as_objects: bool = False,
                 foreign_key_info: bool = False):
        """The tables referencing this one, named and filtered as in :meth:`parents`."""
        return self._related("children", primary, as_objects, foreign_key_info)

    def ancestors(self, as_objects: bool = False):
        """This table first, then every table upstream of it, children before parents."""
        order = catalog_of(self.connection).dependencies.ancestors(self.full_name)
        above = [n for n in reversed(order) if n != self.full_name]
        return self._as_tables([self.full_name, *above], as_objects)

    def descendants(self, as_objects: bool = False):
        """This table first, then every table downstream of it, parents before children."""
        order = catalog_of(self.connection).dependencies.descendants([self.full_name])
        below = [n for n in order if n != self.full_name]
        return self._as_tables([self.full_name, *below], as_objects)

    def parts(self, as_objects: bool = False):
        """This master's part tables."""
        names = [n for n in catalog_of(self.connection).dependencies.names
                 if naming.master_of_full_name(n) == f"{self.database}.{self.table_name}"]
        return self._as_tables(names, as_objects)

    def table_named(self, full_name: str) -> FreeTable:
        """The table called ``full_name`` (``schema.table``, or its quoted full table name) on
        this table's connection."""
        return FreeTable(self.connection, full_name)

    def _related(self, direction: str, primary: bool | None, as_objects: bool,
                 foreign_key_info: bool) -> list:
        found = catalog_of(self.connection).dependencies.related(self, direction, primary,
                                                                 foreign_key_info)
        if not foreign_key_info:
            return self._as_tables(found, as_objects)
        return [(self.table_named(n) if as_objects else self._quoted_name(n), info)
                for n, info in found]

    def _as_tables(self, names: list[str], as_objects: bool) -> list:
        """``names`` (``schema.table``) as full table names, or as ``FreeTable`` objects."""
        if as_objects:
            return [self.table_named(n) for n in names]
        return [self._quoted_name(n) for n in names]

    def _quoted_name(self, full_name: str) -> str:
        """``schema.table`` as its ``full_table_name`` (quoted for this backend)."""
        schema, _, table = full_name.partition(".")
        return self._quoted(schema, table)

    @property
    def full_name(self) -> str:
        """``schema.table``, the name used by the dependency graph."""
        return type(self)._full_name()

    @classmethod
    def _full_name(cls) -> str:
        """Worked out once per schema binding: inserts ask for it on every call."""
        schema = cls._schema
        cached = cls.__dict__.get("_full_name_cache")
        if cached is not None and cached[0] is schema and cached[1] == schema.database:
            return cached[2]
        name = f"{schema.database}.{cls._sql_name()}"
        cls._full_name_cache = (schema, schema.database, name)
        return name


def _announce_dropped(connection: Connection, names: list[str]) -> None:
    """Tell catalogue listeners (e.g. a live diagram) which of ``names`` are gone now."""
    catalog = catalog_of(connection)
    for name in names:
        schema, _, table = name.partition(".")
        if catalog.table_info(schema, table) is None:
            catalog.changed(CatalogEvent("drop", schema, table))


class _Restricted(_Deletable, QueryExpression):
    """A restriction of a stored table: still deletable, still knows its table."""

    def __init__(self, table: Table, node: Node):
        super().__init__(table.connection, node)
        self._table = table

    def _derive(self, node: Node) -> QueryExpression:
        if selected_table(node) is not None:  # restrictions and dj.Top: still rows of the table
            return _Restricted(self._table, node)
        return QueryExpression(self.connection, node)

    @property
    def table(self) -> Table:
        return self._table

    @property
    def full_table_name(self) -> str:
        """The restricted table's quoted name (a restriction still reads one table)."""
        return self._table.full_table_name

    def drop(self, *args: Any, **kwargs: Any) -> None:
        raise RestrictionError("a restricted table cannot be dropped; drop the table itself")

    def update1(self, row: dict) -> None:
        raise RestrictionError("update1 works on the whole table: call Table.update1(row)")


class FreeTable(Table):
    """A table addressed by name (``schema.table``), without a user class; with
    :meth:`rows_of`, restricted (DataJoint's diagrams hand out restricted FreeTables)."""

    _free_rows: Node | None = None

    def __init__(self, connection: Connection | str, full_name: str | None = None):
        """``FreeTable(connection, "schema.table")``, or ``FreeTable("schema.table")`` on the
        default connection ``dj.conn()`` (ThreadSafetyError under ``DJ_THREAD_SAFE``)."""
        if full_name is None and isinstance(connection, str):
            connection, full_name = default_connection(), connection
        if full_name is None:
            raise DataJointError("FreeTable needs a table name: FreeTable('schema.table') or "
                                   "FreeTable(connection, 'schema.table')")
        schema, _, table = full_name.replace("`", "").replace('"', "").partition(".")
        self._free_connection = connection
        self._free_schema = schema
        self._free_table = table

    def rows_of(self, query: QueryExpression) -> FreeTable:
        """This table restricted as ``query`` (a restriction of this table) restricts it."""
        if selected_table(query.node) is None or \
                selected_table(query.node).info.full_name != self.full_name:
            raise RestrictionError(f"rows_of takes a restriction of {self.full_name}")
        restricted = FreeTable(self._free_connection, self.full_name)
        restricted._free_rows = query.node
        return restricted

    @property
    def node(self) -> Node:
        return self._free_rows if self._free_rows is not None else self._table_node()

    def drop(self, *args: Any, **kwargs: Any) -> None:
        if self._free_rows is not None:
            raise RestrictionError("a restricted table cannot be dropped; drop the table itself")
        super().drop(*args, **kwargs)

    @classmethod
    def _is_bound(cls) -> bool:
        return False

    @property
    def connection(self) -> Connection:
        return self._free_connection

    @property
    def database(self) -> str:
        return self._free_schema

    @property
    def table_name(self) -> str:
        return self._free_table

    @property
    def full_name(self) -> str:
        return f"{self._free_schema}.{self._free_table}"

    def __repr__(self) -> str:
        return f"FreeTable({self.full_table_name})\n" + super().__repr__()

