"""Per-table job queues (``~~name``): what is pending, reserved, done, failed or ignored.

Long module: the queue's table, its reservation, heartbeat and re-queueing are one protocol
over one table; split, each part would need the others' SQL.

One row per job key of an auto-populated table (the target's primary-key attributes that come
from its primary foreign keys, as in DataJoint: a table with key attributes of its own has one
job per key of its parents). As in DataJoint 2.x a finished job's record is removed unless
``jobs.keep_completed`` (then it stays as ``success`` with its completion time, duration, host,
user, process and the code version of ``make``); failures stay as ``error``. Direct
``populate`` (no ``reserve_jobs``) writes a record only when a key fails, and removes it when
the key is made later. Reservation is one conditional UPDATE (``WHERE
status='pending'``), so two workers can never take the same key. A worker
keeps a heartbeat on its reserved job; a job whose worker died is re-queued
(:meth:`JobQueue.requeue_orphans`):

- on SQLite, by the worker's lease (see :mod:`.leases`): a lock file the worker
  process holds while it lives. Heartbeats cannot advance there during a make;
- otherwise when its heartbeat is older than ``jobs.heartbeat_timeout``,
  whatever its process id says (a zombie or a reused pid is not a live worker);
  a worker on this host whose process is gone is re-queued at once.

Live workers re-queue such jobs while they work (see ``populate``), not only
when they run out of pending keys.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.compiler import Compiler, Flat, compile_delete, compile_select, value_binder
from ..algebra.conditions import Equals, Exists, disjunction
from ..algebra.heading import Attribute, Heading, TableInfo
from ..algebra.nodes import TableNode, base_table
from ..backends.connection import Connection
from ..backends.ddl import AddColumn
from ..catalog import metadata as catalog
from ..catalog.catalog import catalog_of
from ..catalog.declare import create_table, plan_table
from ..catalog.events import CatalogEvent
from ..definition.model import AttributeSpec, Default, IndexSpec, TableDefinition, TypeSpec
from ..errors import DataJointError
from ..objects.codecs import blob, storage_spec
from ..query.expression import QueryExpression, U
from ..settings import config
from .job_errors import ErrorRows
from .key_source import natural_key_source
from .leases import hold, lease_folder, state

if TYPE_CHECKING:
    from ..tables.table import Table

__all__ = ["JobQueue", "STATUSES", "ERROR_MESSAGE_LENGTH", "TRUNCATION_APPENDIX", "job_key",
           "job_queue", "job_table_name"]

STATUSES = ("pending", "reserved", "success", "error", "ignore")
ERROR_MESSAGE_LENGTH = 2047  # the error_message column's width, as DataJoint's
TRUNCATION_APPENDIX = "...truncated"  # ends a message cut to fit
HOST = socket.gethostname()


def _spec(name: str, text: str, args: tuple = ()) -> TypeSpec:
    return TypeSpec(name, args, text)


def _job_attributes() -> tuple[AttributeSpec, ...]:
    now = Default("CURRENT_TIMESTAMP(3)", is_expression=True)
    stamp = _spec("datetime", "datetime(3)", (3,))
    return (
        AttributeSpec("status", _spec("enum", "enum('pending','reserved','success','error',"
                                      "'ignore')", STATUSES), False),
        AttributeSpec("priority", _spec("int8", "int8"), False, default=Default("5")),
        AttributeSpec("created_time", stamp, False, default=now),
        AttributeSpec("scheduled_time", stamp, False, default=now),
        AttributeSpec("reserved_time", stamp, False, nullable=True),
        AttributeSpec("heartbeat", stamp, False, nullable=True),
        AttributeSpec("completed_time", stamp, False, nullable=True),
        AttributeSpec("duration", _spec("float64", "float64"), False, nullable=True),
        AttributeSpec("error_message", _spec("varchar", f"varchar({ERROR_MESSAGE_LENGTH})",
                                            (ERROR_MESSAGE_LENGTH,)), False,
                      default=Default("")),
        AttributeSpec("error_stack", _spec("native", "text", ("text",)), False, nullable=True),
        AttributeSpec("user", _spec("varchar", "varchar(255)", (255,)), False, default=Default("")),
        AttributeSpec("host", _spec("varchar", "varchar(255)", (255,)), False, default=Default("")),
        AttributeSpec("pid", _spec("int32", "int32"), False, default=Default("0")),
        AttributeSpec("connection_id", _spec("int64", "int64"), False, default=Default("0")),
        AttributeSpec("version", _spec("varchar", "varchar(64)", (64,)), False,
                      default=Default("")),
    )


def job_key(target: Table) -> list[str]:
    """The job granularity: the target's key attributes inherited through primary foreign keys
    (all of its key when none are, e.g. a key_source defined by hand)."""
    inherited = {child for _, info in target.parents(primary=True, foreign_key_info=True)
                 for child in info["attr_map"]}
    key = target.heading.primary_key
    return [n for n in key if n in inherited] or list(key)


def job_queue(target: Table) -> JobQueue:
    """The job queue of ``target`` (one object per connection and table, made on first use)."""
    queues = catalog_of(target.connection).cache("job queues")
    queue = queues.get(target.full_name)
    if queue is None:
        queue = queues[target.full_name] = JobQueue(target)
    elif _knows_its_source(target) and not _knows_its_source(queue.target):
        # made first for the table by name (``schema.jobs``): its class knows the key source
        queue.target = target
    return queue


def _knows_its_source(table: Table) -> bool:
    """Whether ``table`` is an auto-populated class (its own ``key_source``), not a table
    reached by name (a ``FreeTable``, which takes the default key source)."""
    return hasattr(table, "restricted_source")


def job_table_name(target_table: str) -> str:
    return "~~" + target_table.lstrip("_#")


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs here (a zombie — killed, not yet reaped — does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):  # no /proc (macOS) or the process just went
        return False


def _adopt(connection: Connection, plan: Any) -> bool:
    """Give a queue DataJoint declared the ``heartbeat`` column our workers keep (nullable:
    DataJoint's workers never see it), so both libraries' workers share one queue. Returns
    whether the queue keeps ``error_stack`` as a blob (DataJoint's ``<blob>``), not text."""
    sa_schema, address = connection.dialect.table_address(plan.schema, plan.name)
    columns = connection.call(lambda sa_connection: {
        column["name"]: column["type"]
        for column in sa.inspect(sa_connection).get_columns(address, sa_schema)})
    blob_stack = _holds_bytes(columns.get("error_stack"))
    if not columns or "heartbeat" in columns:
        return blob_stack
    if connection.in_transaction:
        raise DataJointError("the job queue is adopted by populate or .jobs outside a "
                             "transaction; access Table.jobs once before")
    column = plan.table.c["heartbeat"]
    connection.call(lambda sa_connection: sa_connection.execute(AddColumn(column)))
    catalog_of(connection).changed(CatalogEvent("alter", plan.schema, plan.name))
    return blob_stack


def _holds_bytes(column_type: Any) -> bool:
    """Whether a reflected column type stores bytes (LONGBLOB, bytea, BLOB)."""
    try:
        return column_type is not None and column_type.python_type is bytes
    except NotImplementedError:
        return False


class JobQueue(QueryExpression):
    """The job queue of one auto-populated table; also a query over its rows."""

    def __init__(self, target: Table):
        self.target = target
        self.name = job_table_name(target.table_name)
        self._info = None
        self._blob_stack = False  # error_stack is DataJoint's <blob> (a queue it declared)
        super().__init__(target.connection, None)  # type: ignore[arg-type]

    # -- the table ---------------------------------------------------------------------
    @property
    def node(self) -> TableNode:
        return TableNode(self.info)

    @property
    def info(self):
        if self._info is None:
            self._info = self._declare()
        return self._info

    @property
    def is_declared(self) -> bool:
        """Whether the queue's table exists (made by the first ``.jobs`` read or reserving
        populate); asking does not make it."""
        return self.name in catalog.table_names(self.connection, self.target.database)

    def declare(self) -> None:
        """Make the queue's table now, if it does not exist (as DataJoint's ``Job.declare``)."""
        self.info  # noqa: B018 - declares on first use

    @property
    def sa_table(self) -> sa.Table:
        self.info  # noqa: B018 - declares the queue table on first use
        return self._sa_table

    def _definition(self) -> TableDefinition:
        heading = self.target.heading
        key = tuple(AttributeSpec(n, heading[n].type, True) for n in self.key)
        return TableDefinition(
            f"job queue of {self.target.table_name}", (*key, *_job_attributes()),
            (IndexSpec(("status", "priority", "scheduled_time")),))

    def _declare(self):
        connection = self.connection
        schema, name = self.target.database, self.name
        plan = plan_table(connection, schema, name, self._definition(), [])
        if name not in catalog.table_names(connection, schema):
            if connection.in_transaction:
                raise DataJointError("the job queue is created by populate or .jobs outside a "
                                     "transaction; access Table.jobs once before")
            create_table(connection, plan)
        else:
            self._blob_stack = _adopt(connection, plan)
        self._sa_table = plan.table
        lineage = self.target.heading.lineages  # the queue's keys are the target's keys
        attributes = tuple(Attribute(c.name, c.type, c.in_key, c.nullable, c.default, c.comment,
                                     lineage=lineage.get(c.name) if c.in_key else None)
                           for c in plan.columns)
        return TableInfo(schema, name, Heading(attributes))

    @functools.cached_property
    def key(self) -> list[str]:
        """The job key, see :func:`job_key` (a queue object lives until the next DDL)."""
        return job_key(self.target)

    @property
    def definition(self) -> str:
        """The queue's definition, in the definition language (as DataJoint shows it)."""
        heading = self.target.heading
        lines = [f"# job queue of {self.target.full_name}"]
        lines += [f"{n} : {heading[n].type.text}" for n in self.key]
        lines.append("---")
        lines += [f"{a.name}{_default_text(a)} : {a.type.text}" for a in _job_attributes()]
        lines.append("INDEX (status, priority, scheduled_time)")
        return "\n".join(lines) + "\n"

    @property
    def table_name(self) -> str:
        return self.name

    @property
    def full_table_name(self) -> str:
        return self.target._quoted(self.target.database, self.name)

    def _derive(self, node):
        return _derived(self.connection, node)

    # -- views ---------------------------------------------------------------------------
    def _status(self, status: str) -> QueryExpression:
        return self & {"status": status}

    @property
    def pending(self) -> QueryExpression:
        return self._status("pending")

    @property
    def reserved(self) -> QueryExpression:
        return self._status("reserved")

    @property
    def errors(self) -> ErrorRows:
        """Failed jobs: a query that also groups them by kind (``.groups()``), ``retry``s
        and ``ignore``s them (see :mod:`.job_errors`)."""
        return ErrorRows(self.connection, self._status("error").node, self)

    @property
    def ignored(self) -> QueryExpression:
        return self._status("ignore")

    @property
    def completed(self) -> QueryExpression:
        return self._status("success")

    def progress(self) -> dict[str, int]:
        """Jobs per status (read from the database, so other workers' jobs count too)."""
        counts = {s: 0 for s in STATUSES}
        for row in U("status").aggr(self, n="count(*)").to_dicts():
            counts[row["status"]] = int(row["n"])
        counts["total"] = sum(counts[s] for s in STATUSES)
        return counts

    # -- statements ---------------------------------------------------------------------------
    def _worker_fields(self, version: str, *, lease: bool = False) -> dict:
        """Who is working; ``lease``: with this worker's lease token (only a reservation
        needs it, so a plain populate never creates a lease)."""
        return {"host": HOST, "pid": os.getpid(), "user": _user(), "version": version,
                "connection_id": self._lease() if lease else 0}

    def _lease(self) -> int:
        """This worker's lease token on this database (0 where there are no leases)."""
        folder = self._lease_folder
        return 0 if folder is None else hold(folder)

    @functools.cached_property
    def _lease_folder(self):
        return lease_folder(self.connection)

    # The per-key statements run thousands of times: compiled once, then bound by name.
    def _key_terms(self) -> list[sa.ColumnElement]:
        return [self.sa_table.c[n] == sa.bindparam(f"key_{n}") for n in self.key]

    def _key_values(self, key: dict) -> dict:
        return {name: bind(key[n]) for n, name, bind in self.key_binders}

    @functools.cached_property
    def key_binders(self) -> list[tuple[str, str, Any]]:
        """(attribute, parameter name, checking binder) of each key attribute."""
        heading, dialect = self.info.heading, self.connection.dialect
        return [(n, f"key_{n}", value_binder(dialect, heading[n])) for n in self.key]

    @functools.cached_property
    def _prepared(self) -> dict:
        table, now = self.sa_table, self.connection.dialect.now()
        worker = {n: sa.bindparam(n) for n in ("user", "host", "pid", "connection_id", "version")}
        status = sa.bindparam("want_status", type_=table.c.status.type)
        reserve = sa.update(table).where(
            *self._key_terms(), table.c.status == status, table.c.scheduled_time <= now,
        ).values(status=sa.bindparam("new_status", type_=table.c.status.type),
                 reserved_time=now, heartbeat=now, **worker)
        names = [*self.key, "status", "completed_time", "duration", "error_message",
                 "error_stack", "heartbeat", *worker]
        upsert = self.connection.dialect.insert_replacing(table, self.key, names).values(
            {**{n: sa.bindparam(f"key_{n}") for n in self.key},
             "status": sa.bindparam("new_status", type_=table.c.status.type),
             "completed_time": now, "duration": sa.bindparam("duration"),
             "error_message": sa.bindparam("error_message"),
             "error_stack": sa.bindparam("error_stack", type_=sa.LargeBinary() if
                                         self._blob_stack else table.c.error_stack.type),
             "heartbeat": sa.null(),
             # inserted, never updated: DataJoint's queue declares it with no default
             "priority": sa.bindparam("priority"), **worker})
        release = sa.update(table).where(
            *self._key_terms(), table.c.status == status,
            table.c.pid == sa.bindparam("pid"), table.c.host == sa.bindparam("host"),
        ).values(status=sa.bindparam("new_status", type_=table.c.status.type),
                 heartbeat=sa.null(), reserved_time=sa.null())
        repend = sa.update(table).where(*self._key_terms(), table.c.status == status).values(
            status=sa.bindparam("new_status", type_=table.c.status.type), scheduled_time=now)
        beat = sa.update(table).where(
            *self._key_terms(), table.c.status == status,
            table.c.pid == sa.bindparam("pid"), table.c.host == sa.bindparam("host"),
        ).values(heartbeat=now)
        prepare = self.connection.prepare
        remove = sa.delete(table).where(*self._key_terms())
        return {"reserve": prepare(reserve), "record": prepare(upsert),
                "release": prepare(release), "repend": prepare(repend), "beat": prepare(beat),
                "remove": prepare(remove)}

    def _run(self, name: str, values: dict) -> int:
        return self.connection.run_prepared(self._prepared[name], values)[1]

    def reserve(self, key: dict, version: str = "") -> bool:
        """Take a pending job for this worker; False if another worker has it (atomic)."""
        return self._run("reserve", {**self._key_values(self._job_of(key)),
                                     "want_status": "pending", "new_status": "reserved",
                                     **self._worker_fields(version, lease=True)}) == 1

    def record(self, key: dict, status: str, *, duration: float | None = None,
               version: str = "", error_message: str = "",
               error_stack: str | None = None) -> None:
        """Write the job's outcome in one upsert (e.g. inside the make transaction)."""
        self._run("record", self._record_values(key, status, duration, version, error_message,
                                                error_stack))

    def record_at_commit(self, key: dict, status: str, *, duration: float | None = None,
                         version: str = "") -> None:
        """:meth:`record`, sent with the COMMIT of the open transaction (the make's): one
        round trip fewer where the driver can carry both (see ``Connection.run_at_commit``)."""
        self.connection.run_at_commit(self._prepared["record"], self._record_values(
            key, status, duration, version, "", None))

    def _record_values(self, key: dict, status: str, duration: float | None, version: str,
                       error_message: str, error_stack: str | None) -> dict:
        return {**self._key_values(key), "new_status": status, "duration": duration,
                "error_message": _truncate(error_message, ERROR_MESSAGE_LENGTH),
                "error_stack": blob.encode(error_stack) if self._blob_stack and
                error_stack is not None else error_stack,
                "priority": config["jobs.default_priority"], **self._worker_fields(version)}

    def close_at_commit(self, key: dict, *, duration: float | None = None,
                        version: str = "") -> None:
        """Finish a made key's job with the open transaction's COMMIT: its record becomes
        ``success`` with ``jobs.keep_completed``, else it is removed (DataJoint 2.x)."""
        if config["jobs.keep_completed"]:
            self.record_at_commit(key, "success", duration=duration, version=version)
        else:
            self.connection.run_at_commit(self._prepared["remove"], self._key_values(key))

    def close(self, key: dict, *, duration: float | None = None, version: str = "") -> None:
        """:meth:`close_at_commit` at once (outside a make's transaction)."""
        if config["jobs.keep_completed"]:
            self.record(key, "success", duration=duration, version=version)
        else:
            self._run("remove", self._key_values(key))

    # DataJoint's names for the job protocol
    def complete(self, key: dict, duration: float | None = None) -> None:
        """Mark a job done: removed, or kept as ``success`` with ``jobs.keep_completed``."""
        self.close(self._job_of(key), duration=duration)

    def error(self, key: dict, error_message: str, error_stack: str | None = None) -> None:
        """Mark a job failed with its message (truncated to 2047 characters) and traceback."""
        self.record(self._job_of(key), "error", error_message=error_message,
                    error_stack=error_stack)

    def _job_of(self, key: dict) -> dict:
        missing = [n for n in self.key if n not in key]
        if missing:
            raise DataJointError(f"key {key} lacks {', '.join(missing)}: give the job key "
                                 f"({', '.join(self.key)})")
        return {n: key[n] for n in self.key}

    def update1(self, row: dict) -> None:
        """Change one job's non-key fields (e.g. ``{"n": 1, "priority": 1}``), as in DataJoint."""
        job = self._job_of(row)
        known = set(self.info.heading.names)
        unknown = sorted(set(row) - known)
        if unknown:
            raise DataJointError(f"the job queue has no attribute {', '.join(unknown)}; its "
                                 f"attributes are {', '.join(self.info.heading.names)}")
        changes = {n: v for n, v in row.items() if n not in self.key}
        if not changes:
            raise DataJointError("update1 needs at least one non-key attribute to change")
        table = self.sa_table
        statement = sa.update(table).where(*[table.c[n] == v for n, v in job.items()]) \
            .values(**changes)
        if self.connection.execute(statement).rowcount != 1:
            raise DataJointError(f"no job with key {job} to update; insert one with refresh()")

    def delete_quick(self, get_count: bool = False) -> int | None:
        """Remove every job row at once (no prompt: the queue is bookkeeping)."""
        count = self.delete()
        return count if get_count else None

    def drop(self) -> None:
        """Drop the queue table (the next populate or ``.jobs`` creates it again)."""
        self.drop_quick()

    def drop_quick(self) -> None:
        table = self.sa_table
        self.connection.execute(sa.schema.DropTable(table))
        self._info = None
        catalog_of(self.connection).cache("job queues").pop(self.target.full_name, None)

    def release(self, key: dict, *, pid: int | None = None, host: str = HOST) -> int:
        """Put a job reserved by this worker (or by ``pid`` on ``host``) back to pending."""
        return self._run("release", {**self._key_values(key), "want_status": "reserved",
                                     "new_status": "pending",
                                     "pid": os.getpid() if pid is None else pid, "host": host})

    def beat(self, key: dict) -> int:
        """Refresh the heartbeat of this worker's reserved job."""
        return self._run("beat", {**self._key_values(key), "want_status": "reserved",
                                  "pid": os.getpid(), "host": HOST})

    def ignore(self, key: dict) -> None:
        """Mark a key so populate skips it (until the job row is deleted)."""
        self.record(key, "ignore")

    def pending_keys(self, restriction: QueryExpression | None, *, priority: int | None,
                     limit: int) -> list[dict]:
        """Pending, due jobs in priority order (lower first), restricted to ``restriction``."""
        table, dialect = self.sa_table, self.connection.dialect
        terms = [table.c.status == "pending", table.c.scheduled_time <= dialect.now()]
        if priority is not None:
            terms.append(table.c.priority <= int(priority))
        if restriction is not None:
            terms.append(self._in(restriction))
        statement = sa.select(*[table.c[n] for n in self.key]).where(*terms).order_by(
            table.c.priority, table.c.scheduled_time, *[table.c[n] for n in self.key]
        ).limit(limit)
        return self._keys(self.connection.fetch_all(statement))

    def _in(self, restriction: QueryExpression) -> sa.ColumnElement:
        """Jobs whose key is among the rows of ``restriction`` (a correlated EXISTS)."""
        flat = Flat(self.sa_table, {n: self.sa_table.c[n] for n in self.info.heading.names})
        return Compiler(self.connection.dialect).condition(
            Exists(restriction.node, tuple(self.key)), flat, self.info.heading)

    def _keys(self, rows: list) -> list[dict]:
        heading, dialect = self.info.heading, self.connection.dialect
        decoders = [dialect.decoder(storage_spec(heading[n].type)) for n in self.key]
        return [{n: (d(v) if d else v) for n, d, v in zip(self.key, decoders, row)}
                for row in rows]

    # -- maintenance ----------------------------------------------------------------------------
    def refresh(self, *restrictions: Any, priority: int | None = None, delay: float = 0,
                stale_timeout: float | None = None, orphan_timeout: float | None = None,
                heartbeat_timeout: float | None = None) -> dict[str, int]:
        """Bring the queue up to date with ``key_source``, as DataJoint 2.x does.

        Adds pending jobs for the keys of ``key_source & restrictions`` not made and not
        queued; re-queues ``success`` records whose row was deleted while the key is still in
        ``key_source``; removes ``success``/``error`` records whose key has left both
        ``key_source`` and the table, and waiting jobs (not reserved or ignored) older than
        ``stale_timeout`` seconds (default ``jobs.stale_timeout``; 0: never by age) whose key
        left ``key_source``. Cleanup judges against the whole ``key_source``, whatever the
        restrictions, and is set-based (a fixed number of statements). Reserved jobs go back
        to pending when their worker died (see :meth:`requeue_orphans`) or, with
        ``orphan_timeout``, when reserved longer than that. Returns the counts of each.
        """
        source = self._source()
        restricted = source.proj()
        for restriction in restrictions:
            restricted = restricted & restriction
        added = self._add_pending(restricted, priority, delay)
        repended = self._repend_deleted(source)
        stale = config["jobs.stale_timeout"] if stale_timeout is None else stale_timeout
        removed = self._remove_vanished(source, float(stale))
        timeout = config["jobs.heartbeat_timeout"] if heartbeat_timeout is None \
            else heartbeat_timeout
        orphaned = self.requeue_orphans(timeout)
        if orphan_timeout is not None and orphan_timeout > 0:
            orphaned += self._requeue_older(orphan_timeout)
        return {"added": added, "removed": removed, "re_pended": repended, "orphaned": orphaned}

    def _source(self) -> QueryExpression:
        """The target's ``key_source`` (its class's, or the natural one for a table by name)."""
        target = self.target
        return target.key_source if _knows_its_source(target) else natural_key_source(target)

    def _add_pending(self, source: QueryExpression, priority: int | None, delay: float) -> int:
        connection = self.connection
        dialect = connection.dialect
        made = QueryExpression(connection, self.target.node).proj()
        todo = source - made - QueryExpression(connection, self.node)
        sub = compile_select(todo.node, dialect, names=self.key).subquery("todo")
        chosen = config["jobs.default_priority"] if priority is None else priority
        status = sa.literal("pending", type_=self.sa_table.c.status.type)  # an enum on PostgreSQL
        select = sa.select(*[sub.c[n] for n in self.key], status,
                           sa.literal(int(chosen)), dialect.seconds_from_now(delay))
        names = [*self.key, "status", "priority", "scheduled_time"]
        insert = dialect.insert_from_select(
            dialect.insert_skipping_duplicates(self.sa_table), names, select)
        # an INSERT's rowcount is lost when its cursor closes (psycopg) unless preserved
        insert = insert.execution_options(preserve_rowcount=True)
        return max(connection.execute(insert).rowcount, 0)

    def _made(self) -> QueryExpression:
        return QueryExpression(self.connection, self.target.node)

    def _repend_deleted(self, source: QueryExpression) -> int:
        """``success`` records whose row is gone but whose key is still to make: pending
        again (one UPDATE)."""
        table = self.sa_table
        statement = sa.update(table).where(
            table.c.status == "success", self._in(source), sa.not_(self._in(self._made())),
        ).values(status="pending", scheduled_time=self.connection.dialect.now(),
                 reserved_time=None, completed_time=None, heartbeat=None)
        return self._count(statement)

    def _remove_vanished(self, source: QueryExpression, stale_timeout: float) -> int:
        """Records of keys that left ``key_source``: results and failures at once when the
        table has no row for them either; waiting jobs once older than ``stale_timeout``."""
        table = self.sa_table
        departed = sa.not_(self._in(source))
        removed = self._count(sa.delete(table).where(
            departed, table.c.status.in_(("success", "error")),
            sa.not_(self._in(self._made()))))
        if stale_timeout > 0:
            removed += self._count(sa.delete(table).where(
                departed, table.c.status.in_(("pending", "success", "error")),
                table.c.created_time < self.connection.dialect.seconds_from_now(
                    -stale_timeout)))
        return removed

    def requeue(self, keys: QueryExpression, statuses: Iterable[str]) -> int:
        """Jobs in ``statuses`` whose key is among ``keys``: pending again (one UPDATE)."""
        table = self.sa_table
        statement = sa.update(table).where(
            table.c.status.in_(tuple(statuses)), self._in(keys),
        ).values(status="pending", scheduled_time=self.connection.dialect.now(),
                 reserved_time=None, heartbeat=None)
        return self._count(statement)

    def _requeue_older(self, seconds: float) -> int:
        """Reserved jobs reserved longer than ``seconds`` ago: pending again (DataJoint's
        ``orphan_timeout``, whatever their worker's heartbeat says)."""
        table = self.sa_table
        statement = sa.update(table).where(
            table.c.status == "reserved",
            table.c.reserved_time < self.connection.dialect.seconds_from_now(-seconds),
        ).values(status="pending", scheduled_time=self.connection.dialect.now(),
                 reserved_time=None, heartbeat=None)
        return self._count(statement)

    def _count(self, statement: sa.Executable) -> int:
        statement = statement.execution_options(preserve_rowcount=True)
        return max(self.connection.execute(statement).rowcount, 0)

    def requeue_orphans(self, heartbeat_timeout: float) -> int:
        """Re-queue reserved jobs whose worker is gone; a live worker keeps its job.

        A worker is gone when its lease is free (SQLite, see :mod:`.leases`), when it ran on
        this host and its process has ended, or when its heartbeat is older than
        ``heartbeat_timeout`` seconds — whatever its pid says, since a pid can be a zombie or
        belong to another process now. A held lease keeps the job however old the heartbeat
        (on SQLite heartbeats stall during a make).
        """
        table, dialect = self.sa_table, self.connection.dialect
        names = [*self.key, "host", "pid", "connection_id"]
        silent = sa.or_(table.c.heartbeat.is_(None),
                        table.c.heartbeat < dialect.seconds_from_now(-heartbeat_timeout))
        statement = sa.select(*[table.c[n] for n in names], silent.label("silent"),
                              table.c.heartbeat.is_(None).label("beatless")).where(
            table.c.status == "reserved")
        folder = self._lease_folder
        count = 0
        for row in self.connection.fetch_all(statement):
            key = self._keys([row[:len(self.key)]])[0]
            host, pid, token, is_silent, beatless = row[len(self.key):]
            if _worker_lives(folder, host, pid, token, bool(is_silent), bool(beatless)):
                continue
            count += self.release(key, pid=pid, host=host)
        return count

    def delete(self) -> int:
        """Remove every job row (the queue is rebuilt by the next refresh)."""
        return self.connection.execute(compile_delete(self.node, self.connection.dialect)).rowcount

    def __repr__(self) -> str:
        return f"JobQueue({self.target.full_name})\n" + super().__repr__()


class JobRows(QueryExpression):
    """Restricted job rows (``jobs & key``, ``jobs.errors``): still deletable."""

    def _derive(self, node):
        return _derived(self.connection, node)

    def delete(self) -> int:
        """Remove these job rows (e.g. errors, so populate retries their keys)."""
        return self.connection.execute(compile_delete(self.node, self.connection.dialect)).rowcount

    def delete_quick(self, get_count: bool = False) -> int | None:
        """:meth:`delete` (no prompt either way); the count with ``get_count``."""
        count = self.delete()
        return count if get_count else None


def _worker_lives(folder, host: str, pid: int, token: int, silent: bool,
                  beatless: bool = False) -> bool:
    """Whether the worker that reserved a job still runs (see ``requeue_orphans``).

    A job reserved with no heartbeat at all was taken by a worker that keeps none —
    DataJoint's, sharing the queue: it counts as gone only when it ran on this host and its
    process has ended (DataJoint's own ``jobs.refresh(orphan_timeout=...)`` handles the rest).
    """
    lease = state(folder, token) if folder is not None and token and not beatless else None
    if lease is not None:
        return lease
    if host == HOST and not _process_alive(pid):
        return False
    return beatless or not silent


def _derived(connection, node) -> QueryExpression:
    """A restriction of the queue stays deletable; other queries over it are plain."""
    if base_table(node) is not None:
        return JobRows(connection, node)
    return QueryExpression(connection, node)


class Heartbeat:
    """One thread per worker that keeps the heartbeat of the job being made fresh.

    It uses its own connection (the worker's is busy in the make transaction) and beats
    whatever key :meth:`working_on` set, so starting a key costs nothing.
    """

    def __init__(self, jobs: JobQueue, interval: float):
        self._jobs = jobs
        self._interval = interval
        self._key: dict | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dj-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    @contextlib.contextmanager
    def working_on(self, key: dict) -> Iterator[None]:
        with self._lock:
            self._key = key
        try:
            yield
        finally:
            with self._lock:
                self._key = None

    def _run(self) -> None:
        connection = None
        try:
            while not self._stop.wait(self._interval):
                with self._lock:
                    key = self._key
                if key is None:
                    continue
                try:
                    if connection is None:
                        connection = Connection(self._jobs.connection.url)
                    _rebound(self._jobs, connection).beat(key)
                except Exception:  # noqa: BLE001 - a missed beat is retried next time
                    connection = None
        finally:
            if connection is not None:
                connection.close()


def _rebound(jobs: JobQueue, connection) -> JobQueue:
    clone = object.__new__(JobQueue)
    clone.__dict__.update(jobs.__dict__)
    clone._connection = connection
    return clone


def _status_in(statuses: Iterable[str]):
    return disjunction(Equals("status", s) for s in statuses)


def _default_text(attribute: AttributeSpec) -> str:
    """``=null``, ``=5``, ``=""`` or ``=CURRENT_TIMESTAMP(3)`` as a definition writes it."""
    if attribute.nullable:
        return "=null"
    default = attribute.default
    if default is None:
        return ""
    if default.is_expression or default.value.lstrip("-").isdigit():
        return f"={default.value}"
    return f'="{default.value}"'


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending ``...truncated`` when cut (as DataJoint)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_APPENDIX)] + TRUNCATION_APPENDIX


@functools.lru_cache(maxsize=1)
def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return ""
