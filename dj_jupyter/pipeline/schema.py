"""``dj.Schema``: a named group of tables, and the ``@schema`` decorator that declares them.

On PostgreSQL a schema is a PostgreSQL schema, on MySQL a database, on SQLite
a name prefix inside the one database file (so foreign keys work across
schemas everywhere). Decorating a class binds it to the schema and declares
its table when it does not exist yet.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..backends.connection import conn
from ..backends.own_connections import routed
from ..catalog import metadata as catalog
from ..catalog import naming
from ..catalog.catalog import catalog_of, graph_for
from ..catalog.declare import JOB_METADATA, PROVENANCE, ResolvedParent, create_table, plan_table
from ..catalog.events import CatalogEvent
from ..definition import limits
from ..definition.parser import parse_definition
from ..errors import (
    DataJointError,
    DefinitionError,
    MissingDefinitionError,
    MissingTableError,
    TransactionError,
)
from ..populate.jobs import JobQueue, job_queue, job_table_name
from ..settings import config
from ..tables.cascade import ChangedSinceShown, drop_quick, prompting
from ..tables.gc import collect
from ..tables.resolve import caller_locals, caller_namespace, resolve_parent
from ..tables.table import FreeTable, Table
from .access import create_or_use, refused_access
from .classes import classes_for, parts_of
from .tiers import Computed, Imported, Lookup, Manual, Part

if TYPE_CHECKING:
    from ..backends.connection import Connection

__all__ = ["Schema", "VirtualModule", "virtual_schema", "list_schemas"]

logger = logging.getLogger("dj_jupyter")

class Schema:
    """A database schema; use an instance as a class decorator to declare tables in it.

    ``schema = dj.Schema("lab")``, then ``@schema`` above ``class Subject(dj.Manual)``.
    Without a name, decorated classes wait for :meth:`activate`.
    """

    def __init__(self, schema_name: str | None = None, context: dict | None = None, *,
                 connection: Connection | None = None, create_schema: bool = True,
                 create_tables: bool | None = None, add_objects: dict | None = None):
        self.database: str | None = None
        self.context = context
        self._connection = connection
        self.create_tables = create_tables
        self._pending: list[tuple[type, dict]] = []
        self.add_objects = add_objects
        if schema_name is not None:
            self.activate(schema_name, connection=connection, create_schema=create_schema,
                          create_tables=create_tables, add_objects=add_objects)

    # -- activation ----------------------------------------------------------------
    def activate(self, schema_name: str, *, connection: Connection | None = None,
                 create_schema: bool = True, create_tables: bool | None = None,
                 add_objects: dict | None = None) -> None:
        """Bind this schema to a database schema name (creating it if asked) and declare
        any classes decorated before."""
        _check_schema_name(schema_name)
        self.database = schema_name
        if connection is not None:
            self._connection = connection
        if create_tables is not None:
            self.create_tables = create_tables
        if add_objects:
            self.add_objects = add_objects
        if not self.exists:
            if not create_schema:
                raise MissingTableError(
                    f"schema {schema_name!r} does not exist; create it with "
                    f"dj.Schema({schema_name!r}) (create_schema=True)")
            self._create()
        catalog_of(self.connection).schemas[schema_name] = self
        pending, self._pending = self._pending, []
        for cls, context in pending:
            self._process(cls, context)

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            from ..backends.connection import conn

            self._connection = conn()
        return routed(self._connection)  # a background thread's own (see own_connections)

    def _require_active(self) -> str:
        if self.database is None:
            raise DataJointError("this schema has no name yet: call schema.activate('name')")
        return self.database

    @property
    def exists(self) -> bool:
        name = self._require_active()
        return catalog.LINEAGE in catalog.table_names(self.connection, name)

    def _create(self) -> None:
        """Create the schema and its catalogue tables (or use a read-only one as it is)."""
        name = self._require_active()
        connection = self.connection

        def create() -> None:
            for statement in connection.dialect.create_schema_ddl(name):
                connection.execute(statement)
            for table in catalog.system_tables(connection, name):
                connection.call(lambda c, t=table: t.create(c, checkfirst=True))

        create_or_use(connection, name, create)
        catalog_of(connection).changed()

    # -- decorating -------------------------------------------------------------------
    def __call__(self, cls: type, *, context: dict | None = None) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Table)):
            raise DefinitionError("@schema decorates table classes (subclasses of dj.Manual, "
                                  "dj.Lookup, dj.Imported, dj.Computed)")
        if issubclass(cls, Part):
            raise DefinitionError(f"{cls.__name__} is a Part: decorate its master class, not the "
                                  "part (parts are declared with their master)")
        context = dict(context or self.context or caller_namespace())
        if self.database is None:
            self._pending.append((cls, context))
        else:
            self._process(cls, context)
        return cls

    def _process(self, cls: type, context: dict) -> None:
        """Declare a master, its parts and a Lookup's contents: all or nothing. If a part's
        definition or the contents are bad, the tables declared here are dropped again."""
        context = {**context, **(self.add_objects or {}), cls.__name__: cls}
        declared: list[type] = []
        try:
            if self._bind_and_declare(cls, {**context, "self": cls}):
                declared.append(cls)
            for part in parts_of(cls):
                part._master = cls
                if self._bind_and_declare(part, {**context, "master": cls, "self": part}):
                    declared.append(part)
            if issubclass(cls, Lookup):
                _insert_contents(cls)
        except BaseException:
            self._undeclare(declared)
            raise

    def _undeclare(self, classes: list[type]) -> None:
        """Drop the tables of ``classes`` (declared by a declaration that then failed)."""
        for cls in reversed(classes):
            table = cls()
            try:
                drop_quick(table)
            except Exception as error:  # noqa: BLE001 - the declaration's error is the one to see
                logger.warning("could not drop %s after a failed declaration: %s",
                               table.full_table_name, error)
                continue
            catalog_of(self.connection).changed(
                CatalogEvent("drop", self.database, table.table_name))

    def _bind_and_declare(self, cls: type, context: dict) -> bool:
        """Bind ``cls`` to this schema and declare its table; True if it was declared now."""
        cls._schema = self
        cls.__dict__.get("_table_name_cache") and delattr(cls, "_table_name_cache")
        table = cls()
        if table.is_declared:
            return False
        creating = self.create_tables if self.create_tables is not None else \
            config["database.create_tables"]
        if not creating:
            raise MissingTableError(
                f"table {table.full_table_name} does not exist and this schema does not create "
                "tables (create_tables=False); declare it where tables may be created")
        self.declare(cls, context)
        if cls.definition and not (cls.__doc__ or "").endswith(cls.definition):
            cls.__doc__ = (cls.__doc__ or "") + "\n" + cls.definition
        return True

    def declare(self, cls: type, context: dict) -> None:
        """Create the table of ``cls`` from its ``definition``."""
        connection = self.connection
        if connection.in_transaction:
            raise TransactionError("tables cannot be declared inside a transaction")
        limits.check_text(cls.definition or "", f"definition of {cls.__name__}")
        if not cls.definition or not cls.definition.strip():
            raise MissingDefinitionError(f"{cls.__name__} has no definition: give it a "
                                         "`definition` string (see the definition language "
                                         "in the docs)")
        definition = parse_definition(cls.definition)
        parents = [ResolvedParent(spec, resolve_parent(spec, context).info)
                   for spec in definition.foreign_keys]
        plan = plan_table(
            connection, self.database, cls()._sql_name(), definition, parents,
            auto_populated=issubclass(cls, (Imported, Computed)),
            allow_new_pk=config["jobs.allow_new_pk_fields_in_computed_tables"],
            hidden=_platform_columns(cls))
        create_table(connection, plan)
        logger.debug("declared %s", plan.name)

    # -- introspection ----------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        """Table names of this schema, parents before children (hidden tables excluded)."""
        name = self._require_active()
        prefix = name + "."
        names = catalog_of(self.connection).dependencies.names
        return [n[len(prefix):] for n in names if n.startswith(prefix)]

    def __iter__(self) -> Iterator[FreeTable]:
        """The tables of this schema, parents before children (as DataJoint iterates them)."""
        name = self._require_active()
        for table_name in self.list_tables():
            yield FreeTable(self.connection, f"{name}.{table_name}")

    @property
    def jobs(self) -> list[JobQueue]:
        """The job queues of this schema's Imported and Computed tables that have one (a queue
        is made by ``Table.jobs`` or ``populate(reserve_jobs=True)``), as in DataJoint 2.x."""
        name = self._require_active()
        existing = set(catalog.table_names(self.connection, name))
        return [job_queue(FreeTable(self.connection, f"{name}.{table}"))
                for table in self.list_tables()
                if naming.tier_of(table) in ("Imported", "Computed")
                and job_table_name(table) in existing]

    def __contains__(self, name: str) -> bool:
        """Whether a table of this name (class name, table name, or table name without its
        tier prefix) exists in this schema."""
        return self._table_name(name) in self.list_tables()

    def is_activated(self) -> bool:
        """Whether this schema has a database name (given, or set by :meth:`activate`)."""
        return self.database is not None

    def get_table(self, name: str) -> FreeTable:
        """A table of this schema by class name or table name."""
        table_name = self._table_name(name)
        if table_name not in self.list_tables():
            raise MissingTableError(f"table {name!r} does not exist in schema {self.database!r}; "
                                    f"it has {', '.join(self.list_tables()) or 'no tables'}")
        return FreeTable(self.connection, f"{self.database}.{table_name}")

    __getitem__ = get_table

    def _table_name(self, name: str) -> str:
        tables = self.list_tables()
        if name in tables:
            return name
        for table in tables:
            if naming.class_name_of(table) == name or naming.to_camel_case(
                    table.lstrip("#_").replace("__", "_")) == name:
                return table
        for prefix in ("#", "_", "__"):  # "subject" for the Lookup table "#subject"
            if prefix + name in tables:
                return prefix + name
        return name

    @property
    def lineage(self) -> dict[tuple[str, str], str]:
        return catalog.read_lineage(self.connection, self._require_active())

    def rebuild_lineage(self) -> int:
        """Recompute every table's lineage from the foreign keys and store it; returns rows."""
        name = self._require_active()
        connection = self.connection
        table = catalog.lineage_table(connection, name)
        catalog_of(connection).changed()
        rows = [{"table_name": info.name, "attribute_name": a.name, "lineage": a.lineage}
                for info in catalog_of(connection).schema_tables(name).values()
                for a in info.heading.attributes_ if a.lineage]
        with connection.transaction:
            connection.execute(sa.delete(table))
            if rows:
                connection.execute(sa.insert(table), rows)
        catalog_of(connection).changed()
        return len(rows)

    def make_classes(self, into: dict | None = None) -> dict[str, type]:
        """Classes for this schema's tables (masters with their parts), put into ``into``,
        else the schema's ``context``, else the caller's namespace (as in DataJoint)."""
        namespace = into if into is not None else \
            self.context if self.context is not None else caller_locals()
        made = classes_for(self)
        for name, cls in made.items():
            namespace.setdefault(name, cls)
        return made

    def gc(self, dry_run: bool = True, grace_seconds: float | None = None) -> dict:
        """Objects in the stores that no row of this schema refers to; removed unless dry_run.

        Objects younger than ``dj.config["stores.gc_grace_seconds"]`` (or ``grace_seconds``)
        are never removed: they may belong to an insert still in flight.
        """
        self._require_active()
        return collect(self, dry_run=dry_run, grace_seconds=grace_seconds)

    def drop(self, prompt: bool | None = None) -> None:
        """Drop the whole schema and every table in it (nothing if it does not exist).

        Refused inside a transaction (DDL would end it). With a prompt, the tables are read
        again after the answer; if another session changed them meanwhile, nothing is
        dropped. Only this schema and the schemas that refer to it are read.
        """
        from ..tables.cascade import Confirmation, ask, logger

        name = self._require_active()
        if self.connection.in_transaction:
            raise TransactionError(f"schema {name!r} cannot be dropped inside a transaction; "
                                   "commit or cancel the transaction first")
        catalog_of(self.connection).changed()  # another session may have dropped tables
        if not catalog.database_exists(self.connection, name):
            # never made (e.g. its activation was refused) or dropped already: nothing to do,
            # and no DROP the user may lack the privilege for
            logger.info("Schema %r does not exist: nothing to drop.", name)
            catalog_of(self.connection).schemas.pop(name, None)
            return
        if not catalog.table_names(self.connection, name):
            logger.info("Schema %r has no tables (or no longer exists): nothing to ask.", name)
            self._drop_now(name, [])
            return
        counts = self._drop_counts()
        if not prompting(prompt):
            self._drop_now(name, list(counts))
            return
        text = (f"About to drop schema {name!r} with {len(counts)} table(s):\n"
                + "\n".join(f"  {n} ({c} rows)" for n, c in counts.items()))
        answer = ask(Confirmation("drop schema", f"Drop schema {name!r}?", text, counts,
                                  lambda: self._drop_as_shown(counts)))
        if answer is None:
            logger.info("Nothing dropped yet: confirm where the tables are shown.")
        elif answer:
            self._drop_as_shown(counts)

    def _drop_counts(self) -> dict[str, int]:
        """Rows per table (full names, parents first) that dropping this schema removes; none
        for a database without DataJoint's catalogue (nothing of it to plan)."""
        if not self.exists:
            return {}
        return {f"{self.database}.{t}": len(FreeTable(self.connection, f"{self.database}.{t}"))
                for t in self._drop_plan()}

    def _drop_as_shown(self, shown: dict[str, int]) -> None:
        """Drop the schema if its tables and row counts are still ``shown``; else nothing."""
        name = self._require_active()
        if self.connection.in_transaction:
            raise TransactionError(f"schema {name!r} cannot be dropped inside a transaction; "
                                   "commit or cancel the transaction first")
        catalog_of(self.connection).changed()  # see what other sessions did meanwhile
        if self._drop_counts() != shown:
            raise ChangedSinceShown(
                f"nothing was dropped: the tables of schema {name!r} or their rows changed "
                "after they were shown (another session changed them); look again and drop "
                "again")
        self._drop_now(name, list(shown))

    def _drop_now(self, name: str, tables: list[str]) -> None:
        with refused_access(self.connection, f"dropping schema {name!r}"):
            self._drop_tables_and_schema(name, tables)

    def _drop_tables_and_schema(self, name: str, tables: list[str]) -> None:
        connection = self.connection
        for full in reversed(tables):
            drop_quick(FreeTable(connection, full))
            catalog_of(connection).changed(CatalogEvent("drop", name, full.partition(".")[2]))
        for table in catalog.table_names(connection, name):
            sa_schema, address = connection.dialect.table_address(name, table)
            target = sa.Table(address, sa.MetaData(), schema=sa_schema)
            connection.call(lambda c, t=target: t.drop(c, checkfirst=True))
        for statement in connection.dialect.drop_schema_ddl(name):
            connection.execute(statement)
        catalog_of(connection).changed()
        catalog_of(connection).schemas.pop(name, None)

    def _drop_plan(self) -> list[str]:
        """This schema's tables, parents first; refused while other schemas depend on it."""
        name = self.database
        prefix = name + "."
        graph = graph_for(self.connection, [prefix])
        tables = [n[len(prefix):] for n in graph.names if n.startswith(prefix)]
        dependents = [n for n in graph.descendants([prefix + t for t in tables])
                      if not n.startswith(prefix)]
        if dependents:
            raise DataJointError(f"tables in other schemas depend on {name!r}: "
                                 f"{', '.join(dependents)}; drop them first")
        return tables

    def __repr__(self) -> str:
        return f"Schema({self.database!r})"


def _platform_columns(cls: type) -> tuple:
    """The hidden columns a new table gets: job metadata on Computed/Imported tables
    (``jobs.add_job_metadata``), provenance on Manual ones (``provenance.capture``)."""
    if issubclass(cls, (Imported, Computed)) and not issubclass(cls, Part):
        return JOB_METADATA if config["jobs.add_job_metadata"] else ()
    if issubclass(cls, Manual) and not issubclass(cls, (Lookup, Part)):
        return PROVENANCE if config["provenance.capture"] else ()
    return ()


def _check_schema_name(name: str) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name or ""):
        raise DataJointError(f"schema name {name!r} is not valid: use letters, digits and "
                             "underscores, starting with a letter")
    limits.check_identifier(name, "schema name")


def _insert_contents(cls: type) -> None:
    """Insert a Lookup's ``contents`` (rows as dicts, or sequences in heading order)."""
    contents = cls().contents  # an instance reads a plain attribute and a @property alike
    if contents is None:
        return
    if isinstance(contents, (str, bytes, dict)) or not hasattr(contents, "__iter__"):
        raise DefinitionError(f"{cls.__name__}.contents must be a list of rows (dicts, or "
                              f"tuples in attribute order), not a {type(contents).__name__}")
    rows = list(contents)
    if not rows:
        return
    table = cls()
    rows = _content_rows(cls.__name__, table.heading.names, rows)
    if len(rows) > len(table):
        table.insert(rows, skip_duplicates=True)


def _content_rows(name: str, names: list[str], rows: list) -> list[dict]:
    """``contents`` as dicts; a tuple row must give every attribute, in heading order."""
    out = []
    for number, row in enumerate(rows, 1):
        if isinstance(row, dict):
            out.append(row)
        elif isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise DefinitionError(f"{name}.contents row {number} is a {type(row).__name__}; "
                                  "give a dict or a tuple of values in attribute order")
        elif len(row) != len(names):
            raise DefinitionError(
                f"{name}.contents row {number} has {len(row)} value(s) for {len(names)} "
                f"attribute(s) ({', '.join(names)}); give one value per attribute, in order")
        else:
            out.append(dict(zip(names, row)))
    return out


class VirtualModule(types.ModuleType):
    """A module-like object with classes for every table of an existing schema."""

    def __init__(self, module_name: str, schema_name: str, *, create_schema: bool = False,
                 create_tables: bool = False, connection: Connection | None = None,
                 add_objects: dict | None = None):
        super().__init__(module_name)
        schema = Schema(schema_name, connection=connection, create_schema=create_schema,
                        create_tables=create_tables, add_objects=add_objects)
        self.schema = schema
        for name, cls in classes_for(schema).items():
            setattr(self, name, cls)
        for name, value in (add_objects or {}).items():
            setattr(self, name, value)


def virtual_schema(schema_name: str, *, connection: Connection | None = None,
                   create_schema: bool = False, create_tables: bool = False,
                   add_objects: dict | None = None) -> VirtualModule:
    return VirtualModule(schema_name, schema_name, connection=connection,
                         create_schema=create_schema, create_tables=create_tables,
                         add_objects=add_objects)


def list_schemas(connection: Connection | None = None) -> list[str]:
    """Names of the DataJoint schemas in the database."""
    return catalog.list_schemas(connection or conn())
