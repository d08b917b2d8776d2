"""Connections: transactions, lost connections, secrets, and classes for existing schemas."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.errors import ConnectionError_, LostConnectionError, TransactionError
from tests.backend import pipeline

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def p(schema):
    lab = pipeline.lab(schema)
    pipeline.fill_lab(lab)
    return lab


def test_transaction_commits(p, conn):
    with conn.transaction:
        p.Subject.insert1({"subject_id": 10, "species": "rat"})
        assert conn.in_transaction
    assert not conn.in_transaction
    assert p.Subject & {"subject_id": 10}


def test_transaction_rolls_back_on_error(p, conn):
    with pytest.raises(RuntimeError, match="boom"):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
            p.Session.insert1({"subject_id": 10, "session": 1})
            assert len(p.Session & {"subject_id": 10}) == 1
            raise RuntimeError("boom")
    assert not conn.in_transaction
    assert not p.Subject & {"subject_id": 10}
    assert not p.Session & {"subject_id": 10}


def test_failed_insert_inside_transaction_rolls_back_everything(p, conn):
    with pytest.raises(dj.DuplicateError):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
            p.Subject.insert1({"subject_id": 1, "species": "rat"})
    assert len(p.Subject) == 3


def test_nested_transaction_is_refused(p, conn):
    with conn.transaction:
        with pytest.raises(TransactionError, match="nested"):
            conn.start_transaction()
        p.Subject.insert1({"subject_id": 10, "species": "rat"})
    assert p.Subject & {"subject_id": 10}


def _subject_insert(p, conn):
    """A prepared INSERT of one subject, as run_at_commit takes it."""
    return conn.prepare(sa.text(f"INSERT INTO {p.Subject.full_table_name} (subject_id, species) "
                                "VALUES (:subject_id, :species)"))


def test_statement_run_at_commit_commits_with_the_transaction(p, conn):
    with conn.transaction:
        p.Subject.insert1({"subject_id": 10, "species": "rat"})
        conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 11, "species": "rat"})
        assert not p.Subject & {"subject_id": 11}  # held back until the commit
    assert len(p.Subject & "subject_id >= 10") == 2


def test_statement_run_at_commit_is_dropped_on_rollback(p, conn):
    with pytest.raises(RuntimeError, match="boom"):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
            conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 11, "species": "rat"})
            raise RuntimeError("boom")
    assert not p.Subject & "subject_id >= 10"
    with conn.transaction:  # the next transaction does not inherit it
        p.Subject.insert1({"subject_id": 12, "species": "rat"})
    assert p.Subject.keys() == [{"subject_id": n} for n in (1, 2, 3, 12)]


def test_failing_statement_run_at_commit_rolls_back_everything(p, conn):
    with pytest.raises(conn._driver_errors(), match="(?i)duplicate|unique"):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
            conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 1, "species": "rat"})
    assert not conn.in_transaction
    assert not p.Subject & {"subject_id": 10}
    p.Subject.insert1({"subject_id": 11, "species": "rat"})  # the connection still works
    assert p.Subject & {"subject_id": 11}


def test_after_a_commit_with_a_last_statement_both_ways_are_current(p, conn, db_url):
    """The commit that carried the last statement ended the transaction on the server: this
    connection then reads what others commit, and its next transaction is committed too."""
    other = dj.Connection(db_url)
    try:
        theirs = dj.FreeTable(other, p.Subject.full_name)
        with conn.transaction:
            conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 10, "species": "rat"})
        assert theirs & {"subject_id": 10}
        theirs.insert1({"subject_id": 11, "species": "mouse"})
        assert p.Subject & {"subject_id": 11}
        with conn.transaction:
            p.Subject.insert1({"subject_id": 12, "species": "rat"})
        assert theirs & {"subject_id": 12}
    finally:
        other.close()


def test_mysql_sends_one_commit_per_transaction_with_a_last_statement(p, conn, backend):
    """The last statement carries the COMMIT; no second COMMIT follows, transaction after
    transaction (the server's own counter says what it was sent)."""
    if backend != "mysql":
        pytest.skip("the COMMIT carried by the last statement is MySQL's")

    def commits() -> int:
        rows = conn.run("SHOW SESSION STATUS LIKE 'Com_commit'", fetch=True)[0]
        return int(rows[0][1])

    before = commits()
    for subject_id in range(10, 15):
        with conn.transaction:
            p.Subject.insert1({"subject_id": subject_id, "species": "rat"})
            conn.run_at_commit(_subject_insert(p, conn),
                               {"subject_id": subject_id + 100, "species": "rat"})
    sent = commits() - before
    assert len(p.Subject & "subject_id >= 10") == 10
    assert sent == 5 + 1  # one per transaction, and the one that ended the SHOW statement's


def test_run_at_commit_needs_one_open_transaction(p, conn):
    insert = _subject_insert(p, conn)
    with pytest.raises(TransactionError, match="no transaction"):
        conn.run_at_commit(insert, {"subject_id": 10, "species": "rat"})
    with conn.transaction:
        conn.run_at_commit(insert, {"subject_id": 10, "species": "rat"})
        with pytest.raises(TransactionError, match="one statement"):
            conn.run_at_commit(insert, {"subject_id": 11, "species": "rat"})
    assert p.Subject.keys() == [{"subject_id": n} for n in (1, 2, 3, 10)]


# -- transactions in series (populate's loop) ---------------------------------------------

def test_transactions_in_series_each_commit_or_roll_back_on_their_own(p, conn, db_url):
    other = dj.Connection(db_url)
    try:
        theirs = dj.FreeTable(other, p.Subject.full_name)
        with conn.transactions_in_series():
            with conn.transaction:
                p.Subject.insert1({"subject_id": 10, "species": "rat"})
            assert theirs & {"subject_id": 10}  # committed then, not at the end of the block
            with pytest.raises(RuntimeError, match="boom"):
                with conn.transaction:
                    p.Subject.insert1({"subject_id": 11, "species": "rat"})
                    raise RuntimeError("boom")
            assert not conn.in_transaction
            p.Subject.insert1({"subject_id": 12, "species": "rat"})  # between: commits alone
            assert theirs & {"subject_id": 12}
            theirs.insert1({"subject_id": 13, "species": "mouse"})
            assert p.Subject & {"subject_id": 13}  # and reads what others committed
            with conn.transaction:
                p.Subject.insert1({"subject_id": 14, "species": "rat"})
                conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 15, "species": "rat"})
            assert len(theirs & "subject_id >= 14") == 2
        assert not conn.in_transaction
        theirs.insert1({"subject_id": 16, "species": "mouse"})
        assert p.Subject & {"subject_id": 16}
        with conn.transaction:  # ordinary transactions after the block
            p.Subject.insert1({"subject_id": 17, "species": "rat"})
        assert theirs & {"subject_id": 17}
    finally:
        other.close()
    assert sorted(k["subject_id"] for k in p.Subject.keys()) == [1, 2, 3, 10, 12, 13, 14, 15,
                                                                 16, 17]


def _session_state(other: dj.Connection, pid: int) -> str:
    rows = other.run("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,), fetch=True)[0]
    return rows[0][0]


@pytest.mark.fast_path
def test_postgresql_commits_in_series_open_the_next_transaction(p, conn, db_url, backend):
    """COMMIT AND CHAIN: between two transactions of the series the session is already in
    the next one (no BEGIN to send); the block's end leaves it idle."""
    if backend != "postgresql":
        pytest.skip("COMMIT AND CHAIN is used on PostgreSQL")
    other = dj.Connection(db_url)
    try:
        pid = conn.run("SELECT pg_backend_pid()", fetch=True)[0][0][0]
        assert _session_state(other, pid) == "idle"
        with conn.transactions_in_series():
            with conn.transaction:
                p.Subject.insert1({"subject_id": 10, "species": "rat"})
            assert _session_state(other, pid) == "idle in transaction"
            assert dj.FreeTable(other, p.Subject.full_name) & {"subject_id": 10}
        assert _session_state(other, pid) == "idle"
    finally:
        other.close()


@pytest.mark.fast_path
def test_postgresql_failed_commit_in_series_rolls_back_and_the_series_goes_on(p, conn,
                                                                              backend):
    """A constraint checked at COMMIT fails the chained commit: nothing of that transaction
    stays, and the next one commits."""
    if backend != "postgresql":
        pytest.skip("deferred constraints are PostgreSQL's")
    table = f'"{p.Subject.database}".deferred'
    conn.run(f"CREATE TABLE {table} (x integer UNIQUE DEFERRABLE INITIALLY DEFERRED)")
    insert = f"INSERT INTO {table} (x) VALUES (%s)"
    with conn.transactions_in_series():
        with pytest.raises(conn._driver_errors(), match="(?i)unique|duplicate"):
            with conn.transaction:
                conn.run(insert, (1,))
                conn.run(insert, (1,))  # allowed until COMMIT
        assert not conn.in_transaction
        with conn.transaction:
            conn.run(insert, (2,))
    assert conn.run(f"SELECT x FROM {table}", fetch=True)[0] == [(2,)]


def test_password_is_never_shown(conn):
    with dj.config.override({"database.password": PASSWORD}):
        assert PASSWORD not in repr(dj.config)
        assert dj.config["database.password"] == PASSWORD
    assert conn.url.password is None or str(conn.url.password) not in repr(conn)
    if conn.url.password:
        assert "***" in repr(conn)


@pytest.mark.parametrize("driver", ["postgresql", "mysql"])
def test_password_not_in_failed_connection_message(driver):
    with socket_port() as port:
        url = f"{driver}://someone:{PASSWORD}@127.0.0.1:{port}/db"
        with pytest.raises(ConnectionError_) as failure:
            dj.Connection(url)
    assert PASSWORD not in str(failure.value)
    assert "127.0.0.1" in str(failure.value)


class socket_port:
    """A loopback port nobody listens on (bound, then released)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def __exit__(self, *exc) -> None:
        pass


def _kill(db_url: str, backend: str, conn: dj.Connection) -> None:
    """End ``conn``'s server session from a second connection."""
    if backend == "postgresql":
        own_id = conn.fetch_all(sa.select(sa.func.pg_backend_pid()))[0][0]
        statement = sa.select(sa.func.pg_terminate_backend(own_id))
    else:
        own_id = conn.fetch_all(sa.select(sa.func.connection_id()))[0][0]
        statement = sa.text(f"KILL {int(own_id)}")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as killer:
            killer.execute(statement)
    finally:
        engine.dispose()


def test_lost_connection_is_reopened_outside_a_transaction(p, conn, db_url, backend):
    if backend == "sqlite":
        pytest.skip("an embedded database has no server session to lose")
    _kill(db_url, backend, conn)
    assert len(p.Subject) == 3
    p.Subject.insert1({"subject_id": 10, "species": "rat"})
    assert len(p.Subject) == 4


def test_lost_connection_inside_a_transaction_raises(p, conn, db_url, backend):
    if backend == "sqlite":
        pytest.skip("an embedded database has no server session to lose")
    with pytest.raises(LostConnectionError):
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
            _kill(db_url, backend, conn)
            p.Subject.insert1({"subject_id": 11, "species": "rat"})
    assert not conn.in_transaction
    assert len(p.Subject) == 3
    assert not p.Subject & "subject_id >= 10"


def test_lost_connection_between_transactions_in_series(p, conn, db_url, backend):
    """The session drops while a chained transaction waits: the next transaction fails as
    lost, the one after runs on a new session, and the block ends cleanly."""
    if backend == "sqlite":
        pytest.skip("an embedded database has no server session to lose")
    with conn.transactions_in_series():
        with conn.transaction:
            p.Subject.insert1({"subject_id": 10, "species": "rat"})
        _kill(db_url, backend, conn)
        with pytest.raises(LostConnectionError):
            with conn.transaction:
                p.Subject.insert1({"subject_id": 11, "species": "rat"})
        with conn.transaction:
            p.Subject.insert1({"subject_id": 12, "species": "rat"})
    assert not conn.in_transaction
    assert sorted(k["subject_id"] for k in p.Subject.keys()) == [1, 2, 3, 10, 12]


def test_virtual_module_gives_working_classes(p, schema, conn):
    vm = dj.VirtualModule("lab", schema.database, connection=conn)
    assert vm.schema.database == schema.database
    assert len(vm.Subject) == 3
    assert vm.Session.Trial.master is vm.Session
    assert len(vm.Session.Trial) == 12
    assert vm.Species.table_name == "#species"
    assert vm.Score.table_name == "__score"
    vm.Subject.insert1({"subject_id": 20, "species": "rat"})
    assert p.Subject & {"subject_id": 20}
    vm.Session.Trial.insert1({"subject_id": 1, "session": 1, "trial": 99, "outcome": "miss"})
    assert (p.Session.Trial & {"trial": 99}).fetch1("outcome") == "miss"
    assert (vm.Subject & vm.Session).keys(order_by="KEY") == [{"subject_id": 1}, {"subject_id": 2}]
    assert (vm.Subject & {"subject_id": 1}).delete(prompt=False) == 1
    assert len(p.Session.Trial) == 6


def test_make_classes(p, schema):
    namespace: dict = {}
    made = schema.make_classes(into=namespace)
    assert set(made) == {"Species", "Subject", "Session", "Score"}
    assert namespace["Session"].Trial.master is namespace["Session"]
    assert len(namespace["Score"]) == 4
    assert namespace["Score"].to_dicts(limit=1)[0]["score"] == 1.0


def _last_statements_in_series(p, conn, start: int, count: int) -> None:
    for subject_id in range(start, start + count):
        with conn.transaction:
            conn.run_at_commit(_subject_insert(p, conn), {"subject_id": subject_id,
                                                          "species": "rat"})


def test_postgresql_last_statement_survives_rollbacks_and_ddl(p, conn, backend):
    """psycopg deallocates prepared statements after a rollback and after DROP/ALTER: the
    statement that goes with COMMIT AND CHAIN is prepared again, nothing fails."""
    if backend != "postgresql":
        pytest.skip("the pipelined last statement is PostgreSQL's")
    for _ in range(8):  # psycopg prepares statements of its own after a few runs
        assert p.Subject & {"subject_id": 1}
    with conn.transactions_in_series():
        _last_statements_in_series(p, conn, 10, 3)
        with pytest.raises(RuntimeError):
            with conn.transaction:
                raise RuntimeError("rolled back")
        _last_statements_in_series(p, conn, 20, 3)
    conn.run(f'ALTER TABLE {p.Subject.full_table_name} ADD COLUMN extra integer')
    conn.invalidate_dependencies()
    with conn.transactions_in_series():
        _last_statements_in_series(p, conn, 30, 3)
    assert len(p.Subject & "subject_id >= 10") == 9


@pytest.mark.fast_path
def test_postgresql_last_statement_lost_by_the_server_fails_once_cleanly(p, conn, backend):
    """Prepared statements dropped behind our back (DEALLOCATE ALL): that commit fails and
    rolls back, naming the missing statement; the next transaction prepares it again."""
    if backend != "postgresql":
        pytest.skip("the pipelined last statement is PostgreSQL's")
    with conn.transactions_in_series():
        _last_statements_in_series(p, conn, 10, 2)
        conn.call(lambda c: conn._cursor(c).connection.pgconn.exec_(b"DEALLOCATE ALL"))
        with pytest.raises(conn._driver_errors(), match="(?i)prepared statement"):
            _last_statements_in_series(p, conn, 12, 1)
        assert not conn.in_transaction
        _last_statements_in_series(p, conn, 13, 2)
    assert sorted(k["subject_id"] for k in p.Subject.keys() if k["subject_id"] >= 10) == [
        10, 11, 13, 14]


def test_postgresql_failing_last_statement_in_series_is_the_drivers_error(p, conn, backend):
    if backend != "postgresql":
        pytest.skip("the pipelined last statement is PostgreSQL's")
    with conn.transactions_in_series():
        with pytest.raises(conn._driver_errors()) as failure:
            with conn.transaction:
                p.Subject.insert1({"subject_id": 10, "species": "rat"})
                conn.run_at_commit(_subject_insert(p, conn), {"subject_id": 1,
                                                              "species": "rat"})
        assert conn.dialect.classify(failure.value) == "duplicate"
        _last_statements_in_series(p, conn, 11, 1)
    assert not p.Subject & {"subject_id": 10}
    assert p.Subject & {"subject_id": 11}


def test_postgresql_series_with_a_libpq_without_pipeline_mode(p, conn, backend, monkeypatch):
    """libpq before 14 has no pipeline mode: the last statement and the commit then take a
    round trip each, with the same outcome."""
    if backend != "postgresql":
        pytest.skip("the pipelined last statement is PostgreSQL's")
    from dj_jupyter.backends.postgresql import pipeline as pg_pipeline

    monkeypatch.setattr(pg_pipeline, "PIPELINE_MODE", False)
    with conn.transactions_in_series():
        _last_statements_in_series(p, conn, 10, 2)
        with pytest.raises(conn._driver_errors(), match="(?i)duplicate|unique"):
            _last_statements_in_series(p, conn, 1, 1)
        _last_statements_in_series(p, conn, 12, 1)
    assert sorted(k["subject_id"] for k in p.Subject.keys()) == [1, 2, 3, 10, 11, 12]


def test_postgresql_compresses_large_values_with_lz4_where_the_server_has_it(conn, backend):
    """Sessions prefer lz4 for TOAST (pglz spends ~60 ms per MiB of a <blob> it then stores
    uncompressed); a server without lz4 keeps its default and still connects."""
    if backend != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    choices = conn.run("SELECT enumvals FROM pg_settings "
                       "WHERE name = 'default_toast_compression'", fetch=True)[0][0][0]
    chosen = conn.run("SHOW default_toast_compression", fetch=True)[0][0][0]
    assert chosen == ("lz4" if "lz4" in choices else "pglz")
