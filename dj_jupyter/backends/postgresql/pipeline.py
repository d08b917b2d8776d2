"""PostgreSQL transactions in series: ``COMMIT AND CHAIN``, with the last statement.

``Connection.transactions_in_series`` ends each transaction with ``COMMIT AND CHAIN``, which
opens the next one, so no ``BEGIN`` is sent per transaction (:func:`commit_and_chain`). When a
transaction has a last statement (populate's job record, see ``Connection.run_at_commit``),
:func:`run_and_chain` sends it and the commit in one round trip.

psycopg sends one statement per round trip outside its pipeline mode, and its pipeline
object costs more Python than a round trip saves here. libpq's own pipeline mode (through
``psycopg.pq``, the documented libpq wrapper) sends both as one message: Bind/Execute of a
server-prepared statement, then the commit, then Sync. The server skips the commit if the
statement fails, and the transaction then rolls back as a whole.

The statement is prepared under our own name, once per connection. psycopg deallocates
every prepared statement of a connection after a rollback and after ``DROP``/``ALTER``, so
the dialect calls :func:`forget` then (see ``PostgreSQLDialect``); should a statement be
missing all the same, the commit fails with a clear error and the next one prepares again.
Without pipeline mode (libpq before 14) the dialect sends the statement and the commit apart.
"""

from __future__ import annotations

import re
import select
import weakref
from collections.abc import Sequence
from typing import Any

from psycopg import Pipeline, errors, pq
from psycopg.adapt import PyFormat, Transformer

__all__ = ["PIPELINE_MODE", "run_and_chain", "commit_and_chain", "forget"]

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_PLACEHOLDER = re.compile(r"%[s%]")
_MISSING_STATEMENT = "26000"  # invalid_sql_statement_name
#: Whether libpq has pipeline mode (version 14 or later).
PIPELINE_MODE = Pipeline.is_supported()


class _State:
    """What one psycopg connection holds for us: its value adapter and our statements."""

    __slots__ = ("transformer", "names", "serial")

    def __init__(self, connection: Any):
        self.transformer = Transformer(connection)
        self.names: dict[str, bytes] = {}  # SQL (psycopg's %s style) -> statement name
        self.serial = 0


_states: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()


def forget(connection: Any) -> None:
    """The server may have dropped our prepared statements on ``connection``."""
    state = _states.get(connection)
    if state is not None:
        state.names.clear()


def run_and_chain(connection: Any, sql: str, parameters: Sequence[Any]) -> None:
    """Run ``sql`` (no result rows), then ``COMMIT AND CHAIN``, in one round trip (needs
    :data:`PIPELINE_MODE`; without it the dialect sends them apart)."""
    state = _states.get(connection)
    if state is None:
        state = _states[connection] = _State(connection)
    values = state.transformer.dump_sequence(parameters, [PyFormat.TEXT] * len(parameters))
    name = state.names.get(sql)
    pgconn = connection.pgconn
    idle = ensure_open_transaction(pgconn)
    pgconn.enter_pipeline_mode()
    try:
        if idle:  # nothing ran yet in this transaction: psycopg has not sent its BEGIN
            pgconn.send_query_params(b"BEGIN", None)
        if name is None:
            state.serial += 1  # a fresh name: one forgotten may still exist on the server
            name = f"dj_last_{state.serial}".encode()
            pgconn.send_prepare(name, _numbered(sql))
        pgconn.send_query_prepared(name, values)
        pgconn.send_query_params(b"COMMIT AND CHAIN", None)
        pgconn.pipeline_sync()
        _flush(pgconn)
        results = _results_until_sync(pgconn)
    except BaseException:
        _abandon(pgconn)
        raise
    pgconn.exit_pipeline_mode()
    failed = next((r for r in results if r.status not in _OK), None)
    if failed is None:
        state.names[sql] = name
        return
    error = _error(failed, pgconn)
    if error.sqlstate == _MISSING_STATEMENT:
        forget(connection)
    raise error


def ensure_open_transaction(pgconn: Any) -> bool:
    """Whether no transaction is open yet (True) or one is (False); a failed one raises,
    since a COMMIT would roll it back without a word."""
    status = pgconn.transaction_status
    if status == pq.TransactionStatus.INERROR:
        raise errors.InFailedSqlTransaction(
            "a statement of this transaction failed, so it cannot commit; it was rolled back")
    return status == pq.TransactionStatus.IDLE


def commit_and_chain(connection: Any) -> None:
    """``COMMIT AND CHAIN`` straight through libpq: one C call, where psycopg's execute
    costs ~30 µs of Python. With nothing run yet there is nothing to commit, and the next
    statement opens the transaction (psycopg sends BEGIN, :func:`run_and_chain` too)."""
    pgconn = connection.pgconn
    if ensure_open_transaction(pgconn):
        return
    result = pgconn.exec_(b"COMMIT AND CHAIN")
    if result.status not in _OK:
        raise _error(result, pgconn)


def _abandon(pgconn: Any) -> None:
    """After a failure half-way: leave pipeline mode if libpq lets us (else the connection is
    unusable, and the rollback that follows finds it so)."""
    try:
        _results_until_sync(pgconn)
        pgconn.exit_pipeline_mode()
    except Exception:  # noqa: BLE001, S110 - the original error is the one to report
        pass


def _numbered(sql: str) -> bytes:
    """psycopg's ``%s`` placeholders as libpq's ``$1, $2, ...`` (``%%`` is a literal ``%``)."""
    counter = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(counter)}",
                            sql).encode()


def _flush(pgconn: Any) -> None:
    """Send what libpq holds (the connection is non-blocking: wait while the socket is full)."""
    while pgconn.flush():
        select.select([], [pgconn.socket], [])


def _wait_for_result(pgconn: Any) -> None:
    """Wait, without holding the GIL, until ``get_result`` would not block.

    libpq's ``PQgetResult`` blocks inside the driver while holding the GIL: if the server
    waits for another thread of this process (e.g. a heartbeat's row lock, whose COMMIT needs
    the GIL), both would wait forever. ``select`` releases the GIL while it waits.
    """
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()


def _results_until_sync(pgconn: Any) -> list:
    """Every result up to the pipeline's Sync (libpq ends each statement's with a None)."""
    results = []
    finished_one = False
    while True:
        _wait_for_result(pgconn)
        result = pgconn.get_result()
        if result is None:
            if finished_one:  # two Nones in a row: nothing more will come
                raise errors.OperationalError(
                    pgconn.error_message.decode(errors="replace").strip()
                    or "the connection ended in the middle of a pipeline")
            finished_one = True
            continue
        finished_one = False
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


def _error(result: Any, pgconn: Any) -> Exception:
    """The psycopg exception for a failed result (its class from the SQLSTATE)."""
    if result.status == pq.ExecStatus.PIPELINE_ABORTED:
        return errors.InFailedSqlTransaction("the transaction was aborted")
    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (result.error_message or pgconn.error_message).decode(errors="replace").strip()
    try:
        kind = errors.lookup(state) if state else errors.OperationalError
    except KeyError:
        kind = errors.DatabaseError
    return kind(message)
