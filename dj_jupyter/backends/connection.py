"""Connections: one SQLAlchemy engine, one live DB-API connection, explicit transactions.

``dj.Connection`` wraps an engine for one database. Statements run through
:meth:`Connection.execute` (SQLAlchemy constructs) or :meth:`Connection.run`
(a compiled statement on the raw driver cursor, for bulk paths). Outside a
transaction every statement commits on its own (and a statement that fails, whatever
the exception, is rolled back whole); ``with conn.transaction:`` groups statements and
rolls back on error. A statement that failed part-way inside a transaction dooms it: its
commit rolls back and raises (see :meth:`Connection.doom`). A dropped connection is reopened
transparently outside a transaction and reported as
:class:`~dj_jupyter.errors.LostConnectionError` inside one.

Long module: engine, transactions (their hooks, the chained commits) and execution share one
lock and one driver connection; URL parsing lives in :mod:`.urls`.
"""

from __future__ import annotations

import contextlib
import getpass
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from ..errors import (
    AccessError,
    ConnectionError_,
    DataJointError,
    LostConnectionError,
    QueryError,
    ThreadSafetyError,
    TransactionError,
)
from ..settings import config, thread_safe_mode
from .dialect import Dialect, ErrorKind
from .dialects import dialect_for
from .driver_errors import with_driver_class
from .query_cache import QueryCache, refuse_write
from .query_cache import purge as purge_query_cache
from .urls import as_url, backend_of_call, url_from_config

__all__ = ["Connection", "QueryResult", "SqlNames", "conn", "set_default", "thread_safe_mode"]

@dataclass(frozen=True)
class Prepared:
    """Compiled SQL and the order of its parameters (constants keep their compiled value)."""

    sql: str
    names: tuple[str, ...]
    defaults: dict

    def parameters(self, values: dict) -> list:
        defaults = self.defaults
        if not defaults:
            return [values[n] for n in self.names]
        return [values[n] if n in values else defaults[n] for n in self.names]


class QueryResult:
    """The rows of :meth:`Connection.query`, read like a DB-API cursor (fetched already)."""

    def __init__(self, names: list[str], rows: Sequence[Sequence[Any]], rowcount: int,
                 as_dict: bool):
        self.description = tuple((name,) + (None,) * 6 for name in names) or None
        self.rowcount = rowcount
        self._rows = [dict(zip(names, row)) for row in rows] if as_dict \
            else [tuple(row) for row in rows]
        self._next = 0

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int = 1) -> list:
        chunk = self._rows[self._next:self._next + size]
        self._next += len(chunk)
        return chunk

    def fetchall(self) -> list:
        rest = self._rows[self._next:]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def close(self) -> None:
        self._next = len(self._rows)


@dataclass(frozen=True)
class SqlNames:
    """``connection.adapter`` as DataJoint 2.x code reads it to write SQL for
    :meth:`Connection.query`: the backend's name and how it quotes an identifier."""

    backend: str
    quote_identifier: Callable[[str], str]


class _Transaction:
    """``with conn.transaction:`` — a property returning this reusable context manager
    (``conn.staged_transaction()``: one whose writes wait for the commit)."""

    def __init__(self, connection: Connection, stage_writes: bool = False):
        self._connection = connection
        self._stage_writes = stage_writes

    def __enter__(self) -> Connection:
        self._connection.start_transaction(stage_writes=self._stage_writes)
        return self._connection

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._connection.transaction_lost:
            return  # its LostConnectionError was raised (and caught inside); nothing to commit
        if exc_type is None:
            self._connection.commit_transaction()
        elif self._connection.in_transaction:  # a lost connection has closed it already
            self._connection.cancel_transaction()


class Connection:
    """A connection to one database (SQLite file, PostgreSQL database or MySQL server).

    ``Connection("postgresql://user:pw@host/db")`` takes a SQLAlchemy URL;
    ``Connection("host", user, password, backend="mysql")`` the DataJoint form;
    ``Connection("pipeline.db")`` an SQLite file. ``Connection("host", user, password)``
    honours ``database.backend`` (left at its default: MySQL, as in DataJoint) and is never
    taken for an SQLite file. ``use_tls`` (default ``database.use_tls``): None for the driver's
    default, True, False, or a dict of driver TLS options. The password is never shown.
    """

    # Makes a connection's catalogue (set by dj_jupyter.catalog when it loads: the
    # connection holds its catalogue and knows nothing of it; see ``dependencies``).
    catalog_maker: ClassVar[Callable[[Connection], Any] | None] = None

    def __init__(self, host: str | sa.URL, user: str | None = None, password: str | None = None,
                 port: int | None = None, *, backend: str | None = None,
                 database_name: str | None = None, use_tls: bool | dict | None = None):
        backend = backend_of_call(host, user, password, backend, config["database.backend"],
                                  config.is_set("database.backend"))
        if backend not in (None, "sqlite") and port is None and isinstance(host, str) \
                and ":" not in host:
            port = config["database.port"]  # as in DataJoint: a host without its port
        if database_name is None and backend == "postgresql":
            database_name = config["database.name"]
        self.url = as_url(host, user, password, port, backend, database_name)
        sa_name = self.url.get_backend_name()
        self.dialect: Dialect = dialect_for(sa_name, fast_paths=config["database.fast_paths"],
                                            charset=config["connection.charset"])
        self.backend = self.dialect.name
        options = self.dialect.engine_options()
        self._tls_input = config["database.use_tls"] if use_tls is None else use_tls
        tls = self._tls = self.dialect.tls_options(self._tls_input)
        if tls:
            options["connect_args"] = {**options.get("connect_args", {}), **tls}
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool, **options)
        self.dialect.configure_engine(self.engine)
        sa.event.listen(self.engine, "before_execute", self._refuse_ddl_in_transaction)
        self._lock = threading.RLock()
        # Statements run through this connection that may have changed rows (inserts,
        # deletes, updates, raw SQL without a result): displays compare it to know that
        # what they counted is stale. Changes by other connections are not seen here.
        self.write_count = 0
        self._sa: sa.Connection | None = None
        self._run_cursor: tuple[Any, Any] | None = None  # (driver connection, its cursor)
        self._in_transaction = False
        self.transaction_lost = False  # the open transaction died with its connection
        self._before_commit: list = []  # may raise: the transaction then rolls back
        self._after_commit: list = []
        self._after_rollback: list = []
        self._doomed: str | None = None  # why the open transaction can only roll back
        self._last: tuple[Prepared, dict] | None = None  # see run_at_commit
        self._in_series = False  # see transactions_in_series
        self._chained = False  # a commit has opened the next transaction already
        self._staged: list[_StagedWrite] | None = None  # see staged_transaction
        self._query_cache: QueryCache | None = None  # see set_query_cache
        # The catalogue (dj_jupyter.catalog.catalog_of makes it): table metadata, the
        # dependency graph, caches. The connection holds it and knows nothing of it.
        self.catalog: Any = None
        self._open()

    # -- lifecycle --------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._sa = self.engine.connect()
            self._sa_info = self._sa.info  # a property that looks it up on every use
        except sa.exc.DBAPIError as error:
            raise with_driver_class(  # also the driver's error, which DataJoint lets through
                ConnectionError_,
                f"cannot connect to {self._safe_url()}: {error.orig}\n"
                "Check dj.config['database.*'] (host, port, user, password) or the URL, and that "
                "the server is running.", error.orig) from None
        self._sa.commit()
        self.dialect.adapt_to_server(self.engine.dialect)

    def close(self) -> None:
        self._run_cursor = None
        self._chained = False
        if self._sa is not None:
            self._sa.close()
            self._sa = None
        self.engine.dispose()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def adapter(self) -> SqlNames:
        """The backend name and identifier quoting, for raw SQL (DataJoint's
        ``connection.adapter.quote_identifier``)."""
        return SqlNames(self.backend, self.engine.dialect.identifier_preparer.quote_identifier)

    @property
    def conn_info(self) -> dict[str, Any]:
        """DataJoint's ``conn_info``: host, port, user and database it connects to, and TLS as
        asked (``ssl_input``: ``use_tls`` as given; ``ssl``: the driver's TLS options, only when
        TLS was asked for). Unlike DataJoint's, it never holds the password."""
        info: dict[str, Any] = dict(host=self.url.host, port=self.url.port,
                                    user=self.url.username, database_name=self.url.database,
                                    ssl_input=self._tls_input)
        if self._tls_input:
            info["ssl"] = self._tls.get("ssl", dict(self._tls))
        return info

    @property
    def is_connected(self) -> bool:
        return self._sa is not None and not self._sa.closed

    def reconnect(self) -> None:
        if self._in_transaction:
            raise TransactionError("cannot reconnect inside a transaction")
        self._chained = False
        with contextlib.suppress(Exception):
            if self._sa is not None:
                self._sa.invalidate()
                self._sa.close()
        self._open()

    def _safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else "closed"
        return f"<dj.Connection {self._safe_url()} ({state})>"

    # -- transactions -------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def start_transaction(self, *, stage_writes: bool = False) -> None:
        """Open a transaction; ``stage_writes``: see :meth:`staged_transaction`."""
        if self._in_transaction:
            raise TransactionError(
                "a transaction is already open on this connection; nested transactions are not "
                "supported — do the work inside the open one"
            )
        self.transaction_lost = False
        if self._chained:  # the previous commit opened this one
            self._in_transaction = True
            return
        self._ensure_open()
        if stage_writes and self.dialect.stages_writes:
            self._staged = []  # its snapshot begins with its first read (see _snapshot)
        else:
            self._begin("IMMEDIATE")
        self._in_transaction = True

    def _begin(self, mode: str) -> None:
        """SQLAlchemy's begin; on SQLite ``BEGIN <mode>`` (IMMEDIATE takes the write lock)."""
        info = self._sa_info  # read by SQLite's BEGIN (see the dialect's configure_engine)
        info["begin_mode"] = mode
        try:
            self._sa.begin()
        finally:
            info["begin_mode"] = ""

    def staged_transaction(self) -> _Transaction:
        """A transaction whose writes are held back until it commits (where the database
        has one writer at a time: SQLite; elsewhere a plain :attr:`transaction`).

        Inside, reads see one consistent snapshot of the database (a deferred transaction
        takes no lock), and INSERT/UPDATE/DELETE statements are kept in order instead of
        sent. The commit takes the write lock, sends them, and commits — all or nothing —
        so the write lock is held for the writes only and several processes can compute
        inside such transactions at once (populate's makes). The price: inside, reads do
        not see the transaction's own writes, and a write's error (a duplicate key, a
        missing parent) is raised by the commit, which then rolls back everything.
        """
        return _Transaction(self, stage_writes=True)

    @property
    def stages_writes(self) -> bool:
        """Whether the open transaction holds its writes back (see staged_transaction)."""
        return self._staged is not None

    def _flush_staged(self) -> None:
        """Trade the staged transaction's read snapshot for the write lock and send its
        writes (they commit, or the caller rolls back)."""
        staged, self._staged = self._staged, None
        if self._sa.in_transaction():
            self._sa.rollback()  # the snapshot: a deferred transaction cannot safely upgrade
        self._begin("IMMEDIATE")
        for write in staged:
            try:
                self.call(lambda c, w=write: _send_staged(self._cursor(c), w))
            except BaseException as error:
                if write.translate is not None and isinstance(
                        error, (sa.exc.DBAPIError, *self._driver_errors())):
                    raise write.translate(error) from None
                raise

    def commit_transaction(self) -> None:
        """Commit the open transaction; roll it back instead (and raise) if it was doomed by
        a statement that failed part-way, or if a before-commit check fails."""
        self._require_transaction()
        if self._doomed is not None:
            reason = self._doomed
            self.cancel_transaction()
            raise TransactionError(f"the transaction was rolled back instead of committed: "
                                   f"{reason}. Nothing of it was kept; run it again")
        try:
            self._run_before_commit()
        except BaseException:
            self.cancel_transaction()
            raise
        last, self._last = self._last, None
        chain = self._in_series and self.dialect.chains_commits
        try:
            if self._staged is not None:
                self._flush_staged()
            if last is not None:
                prepared, values = last
                self.call(lambda c: self.dialect.run_last(
                    self._cursor(c), prepared.sql, prepared.parameters(values), chain=chain))
            elif chain:
                self.call(lambda c: self.dialect.commit_and_chain(self._cursor(c)))
            if not chain:
                self._sa.commit()
        except BaseException:
            self._in_transaction = self._chained = False
            self._doomed = None
            self._staged = None
            with contextlib.suppress(Exception):
                self._sa.rollback()
            self._run_hooks(self._after_rollback)
            raise
        self._in_transaction = False
        self._chained = chain
        self._run_hooks(self._after_commit)

    def _snapshot(self) -> None:
        """Before a staged transaction's first read: ``BEGIN`` (deferred), so that all its
        reads see one state of the database (a make that reads nothing pays nothing)."""
        if not self._sa.in_transaction():
            self._begin("")

    def _stage(self, sql: str, rows: Any, many: bool,
               translate: Callable[[BaseException], Exception] | None) -> bool:
        """Keep a write of a staged transaction for its commit; False if ``sql`` reads."""
        if self._query_cache is not None:
            refuse_write(sql)
        if self._staged is None or not _is_write(sql):
            return False
        self._staged.append(_StagedWrite(sql, rows, many, translate))
        return True

    def doom(self, reason: str) -> None:
        """Mark the open transaction as one that can only roll back (see commit_transaction).

        Used when a statement failed after part of its work reached the server (a multi-row
        insert failing on a later row): its earlier rows cannot be taken back alone, and
        committing them would keep rows whose objects the failed insert does not own any more.
        """
        if self._in_transaction and self._doomed is None:
            self._doomed = reason

    @property
    def is_doomed(self) -> bool:
        """Whether the open transaction can only roll back (see :meth:`doom`)."""
        return self._in_transaction and self._doomed is not None

    def before_commit(self, callback) -> None:
        """Call ``callback()`` just before the open transaction commits (now, if none is
        open). If it raises, the transaction is rolled back and the error raised."""
        if self._in_transaction:
            self._before_commit.append(callback)
        else:
            callback()

    def _run_before_commit(self) -> None:
        while self._before_commit:  # a check may add another
            self._before_commit.pop(0)()

    @contextlib.contextmanager
    def transactions_in_series(self) -> Iterator[None]:
        """Within the block, transactions follow one another (populate's loop).

        Where the server can, each commit opens the next transaction at once: PostgreSQL's
        ``COMMIT AND CHAIN`` (sent with the transaction's last statement, see
        :meth:`run_at_commit`, in one round trip), MySQL's COMMIT with autocommit off. The
        next transaction then costs no ``BEGIN`` and no SQLAlchemy begin and commit.
        Statements run between transactions commit on their own as always; the last, empty
        transaction ends with the block. On SQLite the block changes nothing: a chained
        transaction would hold the one write lock between keys.
        """
        if self._in_series or self._in_transaction:
            yield
            return
        self._in_series = True
        try:
            yield
        finally:
            self._in_series = False
            self._end_chain()

    def _end_chain(self) -> None:
        """Commit the empty transaction the last chained commit opened."""
        if not self._chained or self._in_transaction:
            return
        self._chained = False
        try:
            self._sa.commit()
        except sa.exc.DBAPIError:  # nothing was in it: a dropped connection loses nothing
            with contextlib.suppress(Exception):
                self._sa.invalidate()

    def run_at_commit(self, prepared: Prepared, values: dict) -> None:
        """Run a prepared statement (no result rows) as the open transaction's last one.

        It is sent when the transaction commits, with the COMMIT in one round trip where the
        driver allows (MySQL), and dropped if the transaction rolls back. Its errors are
        raised by the commit, which then rolls everything back. One such statement at most.
        """
        self._require_transaction()
        if self._last is not None:
            raise TransactionError("run_at_commit holds one statement per transaction")
        self._last = (prepared, values)

    def cancel_transaction(self) -> None:
        self._require_transaction()
        self.write_count += 1  # rows written in it are gone again
        self._last = None
        self._staged = None
        self._chained = False
        self._doomed = None
        try:
            self._sa.rollback()
        except sa.exc.DBAPIError:
            self._sa.invalidate()
        finally:
            self._in_transaction = False
            self._run_hooks(self._after_rollback)

    def after_commit(self, callback) -> None:
        """Call ``callback()`` once the open transaction commits (now, if none is open)."""
        if self._in_transaction:
            self._after_commit.append(callback)
        else:
            callback()

    def after_rollback(self, callback) -> None:
        """Call ``callback()`` if the open transaction is rolled back (never, if none is open)."""
        if self._in_transaction:
            self._after_rollback.append(callback)

    def _run_hooks(self, hooks: list) -> None:
        """Run one list of transaction hooks and forget both (object-store clean-up)."""
        if not (self._after_commit or self._after_rollback or self._before_commit):
            return
        pending = list(hooks)
        self._before_commit.clear()
        self._after_commit.clear()
        self._after_rollback.clear()
        for hook in pending:
            try:
                hook()
            except Exception as error:  # noqa: BLE001 - a failed clean-up must not hide the rest
                import logging

                logging.getLogger("dj_jupyter").warning("transaction hook failed: %s", error)

    def _refuse_ddl_in_transaction(self, sa_connection, statement, *args) -> None:
        """No DDL inside ``with conn.transaction:``: MySQL would commit the transaction
        silently, so it is refused on every backend (SQLAlchemy's ``before_execute``)."""
        if self._in_transaction and _is_ddl(statement):
            raise TransactionError(
                "tables and schemas cannot be created, altered or dropped inside a transaction "
                "(on MySQL that would silently commit it); commit or cancel the transaction "
                "first, then run the DDL")

    def _require_transaction(self) -> None:
        if not self._in_transaction:
            raise TransactionError("no transaction is open on this connection")

    @property
    def transaction(self) -> _Transaction:
        """Context manager: ``with conn.transaction: ...`` commits or rolls back."""
        return _Transaction(self)

    # -- execution ------------------------------------------------------------------
    def set_query_cache(self, query_cache: str | None = None) -> None:
        """DataJoint's query cache: while ``query_cache`` (a name) is set, reads are answered
        from files in ``dj.config["query_cache"]`` (run and saved the first time) and writes
        are refused; None turns it off. See :mod:`.query_cache`."""
        self._query_cache = QueryCache(query_cache) if query_cache else None

    def purge_query_cache(self) -> None:
        """Remove every cached result."""
        purge_query_cache()

    def _ensure_open(self) -> None:
        if self._sa is None or self._sa.closed or self._sa.invalidated:
            self._open()

    def execute(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult:
        """Run a SQLAlchemy statement; outside a transaction it commits on its own.

        In a staged transaction (see :meth:`staged_transaction`) a write is kept for the
        commit and None returned."""
        if isinstance(statement, sa.sql.dml.UpdateBase):
            self.write_count += 1
        if self._staged is not None:
            if isinstance(statement, sa.sql.dml.UpdateBase):
                sql, compiled = self.compile(statement)
                self._stage(sql, compiled, False, None)
                return None
            self._snapshot()
        if self._query_cache is not None and isinstance(
                statement, (sa.sql.dml.UpdateBase, sa.schema.ExecutableDDLElement)):
            refuse_write(type(statement).__name__.upper())
        return self.call(lambda c: c.execute(statement, params) if params is not None
                                else c.execute(statement))

    def compile(self, statement: sa.ClauseElement) -> tuple[str, Any]:
        """SQL text and driver parameters (a tuple or dict, maybe empty) for :meth:`run`.

        Parameters are passed even when empty: the ``format`` drivers then turn the ``%%``
        SQLAlchemy wrote for a literal ``%`` back into ``%``.
        """
        compiled = statement.compile(dialect=self.engine.dialect,
                                     compile_kwargs={"render_postcompile": True})
        params = compiled.params
        if compiled.positional:
            return compiled.string, tuple(params[name] for name in compiled.positiontup)
        return compiled.string, dict(params)

    def prepare(self, statement: sa.ClauseElement) -> Prepared:
        """Compile once a statement with named ``bindparam``s, to run many times (hot paths)."""
        compiled = statement.compile(dialect=self.engine.dialect)
        if not compiled.positional:  # pragma: no cover - engines use positional paramstyles
            raise TransactionError("the driver must use a positional parameter style")
        return Prepared(compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params))

    def run_prepared(self, prepared: Prepared, values: dict, *,
                     fetch: bool = False) -> tuple[list | None, int]:
        """Run a prepared statement with driver-ready ``values`` by parameter name."""
        data, count, _ = self.run(prepared.sql, prepared.parameters(values), fetch=fetch)
        return data, count

    def fetch_all(self, statement: sa.ClauseElement) -> list:
        """Rows of a SELECT, as the driver returns them (the bulk fetch path)."""
        sql, params = self.compile(statement)
        return self.run(sql, params, fetch=True)[0]

    def run(self, sql: str, rows: Sequence[Sequence[Any]] | Sequence[dict] | None = None, *,
            many: bool = False, fetch: bool = False,
            translate: Callable[[BaseException], Exception] | None = None,
            ) -> tuple[list | None, int, list[str]]:
        """Run compiled SQL on the raw driver cursor (the bulk path).

        Returns (rows fetched or None, rowcount, column names). In a staged transaction a
        write is kept for the commit (rowcount -1); ``translate`` then turns its driver error
        into the error the caller would have raised.
        """
        if not fetch:
            self.write_count += 1
        if self._staged is not None:
            if not fetch and self._stage(sql, rows, many, translate):
                return None, -1, []
            self._snapshot()

        def work(connection: sa.Connection):
            cursor = self._cursor(connection)
            if many and len(rows) == 1:  # one row: skip the driver's batch machinery
                cursor.execute(sql, rows[0])
            elif many:
                cursor.executemany(sql, rows)
            elif rows is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, rows)
            description = cursor.description
            names = [d[0] for d in description] if description else []
            data = cursor.fetchall() if fetch else None
            return data, cursor.rowcount, names

        cache = self._query_cache
        if cache is None:
            return self.call(work)
        refuse_write(sql)  # (a staged write was refused when staged)
        saved = cache.load(sql, rows) if fetch else None
        if saved is None:
            saved = self.call(work)
            if fetch:
                cache.save(sql, rows, saved)
        return saved

    def query(self, sql: str, args: Sequence[Any] | dict = (), *, as_dict: bool = False,
              suppress_warnings: bool = True, reconnect: bool | None = None) -> QueryResult:
        """Run raw, trusted SQL with bound ``args`` (DataJoint's ``connection.query``).

        The SQL is the server's own dialect and its placeholders the driver's (``%s``; on
        SQLite ``?``, and ``%s`` is accepted for it). Rows come back as tuples, or dicts with
        ``as_dict``. Outside a transaction it commits on its own; a statement that changes the
        schema is refused inside one, and makes the catalogue forget what it knew.
        ``suppress_warnings`` and ``reconnect`` are accepted for DataJoint code: driver
        warnings are not raised here anyway, and a dropped connection is reopened outside a
        transaction as ``database.reconnect`` says.
        """
        if not isinstance(sql, str) or not sql.strip():
            raise QueryError("connection.query takes the SQL text as a non-empty string")
        if self._query_cache is not None:
            refuse_write(sql)
        is_ddl = _is_ddl(sql)
        if is_ddl and self._in_transaction:
            raise TransactionError("a schema change (CREATE/DROP/ALTER) cannot run inside a "
                                   "transaction: run it after the transaction ends")
        sql = self.dialect.raw_sql(sql, bool(args))

        def work(connection: sa.Connection) -> QueryResult:
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(sql, args if isinstance(args, dict) else tuple(args))
                names = [d[0] for d in cursor.description] if cursor.description else []
                rows = cursor.fetchall() if cursor.description else []
                if not cursor.description:  # no result: it may have changed rows
                    self.write_count += 1
                return QueryResult(names, rows, cursor.rowcount, as_dict)
            finally:
                cursor.close()

        try:
            return self.call(work)
        except (sa.exc.DBAPIError, *self._driver_errors()) as error:
            raise QueryError(f"the database refused the query: {error}") from error
        finally:
            if is_ddl:
                self.invalidate_dependencies()

    def _cursor(self, connection: sa.Connection):
        """The driver cursor of :meth:`run`, made once per driver connection.

        Each statement fetches its results before the next one runs, so one cursor serves
        them all; a new cursor per statement cost psycopg about 30 µs.
        """
        driver_connection = connection.connection.dbapi_connection
        if self._run_cursor is None or self._run_cursor[0] is not driver_connection:
            self._run_cursor = (driver_connection, driver_connection.cursor())
        return self._run_cursor[1]

    def copy_rows(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Stream rows through a COPY ... FROM STDIN statement (PostgreSQL bulk load)."""
        self.write_count += 1

        def work(connection: sa.Connection) -> None:
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                with cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()

        if self._query_cache is not None:
            refuse_write(sql)
        self.call(work)

    def call(self, work):
        """Run ``work(sa_connection)``: committed on its own outside a transaction, and
        retried once on a fresh connection if the old one had dropped."""
        with self._lock:
            if self._in_transaction:
                if self._sa is None or self._sa.closed or self._sa.invalidated:
                    self._lose_transaction()  # e.g. close() inside the transaction
                try:
                    return work(self._sa)
                except (sa.exc.DBAPIError, *self._driver_errors()) as error:
                    if self._is_lost(error):
                        self._lose_transaction()
                    self._raise_if_denied(error)
                    raise
            self._ensure_open()
            for attempt in (1, 2):
                try:
                    if self._chained:  # commit on its own, keeping the chain
                        result = work(self._sa)
                        self.dialect.commit_and_chain(self._cursor(self._sa))
                        return result
                    if not self._sa.in_transaction():
                        self._sa.begin()
                    result = work(self._sa)
                    self._sa.commit()
                    return result
                except (sa.exc.DBAPIError, *self._driver_errors()) as error:
                    self._roll_back_implicit()
                    if self._is_lost(error) and attempt == 1:
                        self.reconnect()
                        continue
                    self._raise_if_denied(error)
                    raise
                except BaseException:
                    # Any other error (a value the driver cannot encode on a later row of an
                    # executemany, an interrupt) must not leave the rows sent so far in the
                    # open implicit transaction, where the next statement would commit them.
                    self._roll_back_implicit()
                    raise

    def _raise_if_denied(self, error: BaseException) -> None:
        """A statement refused for lack of a privilege is an :class:`AccessError` wherever
        it was sent from (creating a schema or a table, inserting, ...)."""
        if self.dialect.classify(error) == ErrorKind.ACCESS_DENIED:
            detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
            raise AccessError(
                f"{self.backend}: user {self.url.username!r} lacks the privilege ({detail}). "
                "Ask the database administrator to GRANT it, or work in a schema this user "
                "may change (dj.list_schemas() lists those it can see).") from error

    def _roll_back_implicit(self) -> None:
        """Roll back the transaction :meth:`call` opened for one statement."""
        self._chained = False
        with contextlib.suppress(Exception):
            self._sa.rollback()

    def _lose_transaction(self) -> None:
        """The connection dropped inside a transaction: the server has rolled it back."""
        self._in_transaction = self._chained = False
        self.transaction_lost = True
        self._last = None
        self._doomed = None
        self._staged = None
        with contextlib.suppress(Exception):
            self._sa.invalidate()
        self._run_hooks(self._after_rollback)
        raise LostConnectionError(
            "the database connection was lost inside a transaction; the transaction was "
            "rolled back — run it again") from None

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        dbapi = self.engine.dialect.dbapi
        return (dbapi.Error,) if dbapi is not None else ()

    def _is_lost(self, error: BaseException) -> bool:
        if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
            return True
        return self.dialect.classify(error) == ErrorKind.LOST_CONNECTION

    # -- the catalogue's hooks --------------------------------------------------------------
    def forget_prepared(self) -> None:
        """Drop the driver's prepared statements (their tables may have changed)."""
        if self._sa is not None and not self._sa.closed and not self._sa.invalidated:
            self.dialect.forget_prepared(self._sa.connection.dbapi_connection)

    @property
    def dependencies(self) -> Any:
        """The foreign-key graph of the schemas activated on this connection, as DataJoint's
        ``connection.dependencies``: ``load()``, ``parents``, ``children``, ``descendants``,
        ``ancestors``, ``topo_sort`` (see ``dj_jupyter.catalog.dependency_graph``)."""
        maker = type(self).catalog_maker
        if self.catalog is None and maker is None:
            raise DataJointError("no schema uses this connection yet, so it has no dependency "
                                 "graph: make a dj.Schema(..., connection=connection) first")
        catalog = self.catalog if self.catalog is not None else maker(self)
        return catalog.dependency_graph

    def invalidate_dependencies(self) -> None:
        """Forget cached table metadata: the catalogue's ``changed()``, without an event."""
        if self.catalog is not None:
            self.catalog.changed()

    def get_user(self) -> str:
        return self.url.username or getpass.getuser()


_DDL_WORDS = ("CREATE", "DROP", "ALTER", "RENAME", "TRUNCATE")
_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(sql: str) -> bool:
    return sql.lstrip().upper().startswith(_WRITE_WORDS)


@dataclass(frozen=True)
class _StagedWrite:
    """A write of a staged transaction, sent when it commits."""

    sql: str
    rows: Any
    many: bool
    translate: Callable[[BaseException], Exception] | None


def _send_staged(cursor: Any, write: _StagedWrite) -> None:
    if write.many:
        cursor.executemany(write.sql, write.rows)
    elif write.rows is None:
        cursor.execute(write.sql)
    else:
        cursor.execute(write.sql, write.rows)


def _is_ddl(statement: Any) -> bool:
    """Whether a statement given to SQLAlchemy changes the schema (an element or SQL text)."""
    if isinstance(statement, sa.schema.ExecutableDDLElement):
        return True
    text = statement.text if isinstance(statement, sa.TextClause) else statement
    return isinstance(text, str) and text.lstrip().upper().startswith(_DDL_WORDS)


_default: dict[str, Connection] = {}


def set_default(connection: Connection) -> None:
    """Make ``connection`` the one ``dj.conn()`` returns (workers, the CLI, tests)."""
    old = _default.get("connection")
    if old is not None and old is not connection:
        old.close()
    _default["connection"] = connection


def conn(host: str | None = None, user: str | None = None, password: str | None = None, *,
         reset: bool = False, use_tls: bool | dict | None = None) -> Connection:
    """The default connection, built from ``dj.config`` (or the arguments) on first use.

    ``host`` may carry the port (``"db.example.org:3306"``), as in DataJoint. With the
    environment variable ``DJ_THREAD_SAFE=1`` the shared default is refused: each thread or
    tenant makes its own ``dj.Instance``.
    """
    if thread_safe_mode():
        raise ThreadSafetyError(
            "DJ_THREAD_SAFE is set, so the shared default connection (dj.conn()) is off: make "
            "one per tenant with dj.Instance(host, user, password) and use instance.Schema(...)")
    if reset or "connection" not in _default:
        old = _default.pop("connection", None)
        if old is not None:
            old.close()
        overrides = {k: v for k, v in (("database.host", host), ("database.user", user),
                                        ("database.password", password),
                                        ("database.use_tls", use_tls)) if v is not None}
        if user is not None or password is not None:  # DataJoint's server form, as Connection
            overrides["database.backend"] = backend_of_call(
                host or config["database.host"], user, password, None,
                config["database.backend"], config.is_set("database.backend"))
        with config.override(overrides):
            url = url_from_config(config)
            tls = config["database.use_tls"]
        _default["connection"] = Connection(url, use_tls=tls)
    return _default["connection"]
