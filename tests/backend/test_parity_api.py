"""DataJoint 2.x's connection forms, raw queries, instances, row validation and error classes,
the same on every backend."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.backends import connection as connection_module
from dj_jupyter.errors import ConfigError, ConnectionError_, TransactionError
from tests import servers


@pytest.fixture
def subjects(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        name : varchar(32)
        weight = null : float64
        """

    Subject.insert([{"subject_id": i, "name": f"s{i}", "weight": 10.0 * i} for i in (1, 2, 3)])
    return Subject


@pytest.fixture
def no_default_connection() -> Iterator[None]:
    """dj.conn()'s shared connection made by a test is closed and forgotten after it."""
    saved = connection_module._default.pop("connection", None)
    yield
    made = connection_module._default.pop("connection", None)
    if made is not None:
        made.close()
    if saved is not None:
        connection_module._default["connection"] = saved


SERVERS = [name for name in servers.enabled_backends() if name in servers.SERVER_BACKENDS]


@pytest.fixture(params=SERVERS)
def on_server(request: pytest.FixtureRequest) -> tuple[str, servers.Server]:
    """(backend, its server) for the forms that name a host: PostgreSQL and MySQL."""
    return request.param, request.getfixturevalue(f"{request.param}_server")


# --- the DataJoint host form ----------------------------------------------------------------


def test_positional_host_form_honours_the_backend(on_server, tmp_path, monkeypatch):
    backend, server = on_server
    monkeypatch.chdir(tmp_path)
    with dj.config.override({"database.backend": backend, "database.name": server.database}):
        connection = dj.Connection(f"{server.host}:{server.port}", server.user, server.password)
    try:
        assert connection.backend == backend
        assert connection.url.port == server.port
        assert connection.query("SELECT 1").fetchall() == [(1,)]
    finally:
        connection.close()
    assert os.listdir(tmp_path) == []  # no SQLite file named after the host


def test_port_from_the_config_goes_with_a_bare_host(on_server):
    backend, server = on_server
    settings_ = {"database.backend": backend, "database.port": server.port,
                 "database.name": server.database}
    with dj.config.override(settings_):
        connection = dj.Connection(server.host, server.user, server.password)
    with connection:
        assert connection.url.port == server.port and connection.is_connected


def test_conn_splits_host_and_port(on_server, no_default_connection):
    backend, server = on_server
    settings_ = {"database.backend": backend, "database.name": server.database}
    with dj.config.override(settings_):
        shared = dj.conn(host=f"{server.host}:{server.port}", user=server.user,
                         password=server.password, reset=True)
    assert shared.url.host == server.host and shared.url.port == server.port
    assert shared.query("SELECT 1").fetchone() == (1,)
    assert dj.conn() is shared


def test_use_tls_reaches_the_driver(on_server):
    """The test servers have no TLS: False connects, True is refused by the handshake."""
    backend, server = on_server
    target = f"{server.host}:{server.port}"
    with dj.config.override({"database.name": server.database}):
        with dj.Connection(target, server.user, server.password, backend=backend,
                           use_tls=False) as plain:
            assert plain.query("SELECT 1").fetchone() == (1,)
        with pytest.raises(ConnectionError_, match="cannot connect"):
            dj.Connection(target, server.user, server.password, backend=backend, use_tls=True)
        with dj.config.override({"database.use_tls": True}):
            with pytest.raises(ConnectionError_, match="cannot connect"):
                dj.Connection(target, server.user, server.password, backend=backend)


def test_use_tls_setting_values():
    with dj.config.override({"database.use_tls": "true"}):
        assert dj.config["database.use_tls"] is True
    with dj.config.override({"database.use_tls": {"ca": "/x.pem"}}):
        assert dj.config["database.use_tls"] == {"ca": "/x.pem"}
    with pytest.raises(ConfigError, match="use_tls"):
        dj.config["database.use_tls"] = "maybe"
    assert dj.config["database.use_tls"] is None


# --- never an SQLite file from a host name ------------------------------------------------

HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z]{2,5}){0,2}(:[0-9]{1,5})?", fullmatch=True)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(host=HOSTS, user=st.text(min_size=1, max_size=8), password=st.text(max_size=8))
def test_a_host_with_credentials_never_becomes_an_sqlite_file(tmp_path, monkeypatch, host,
                                                              user, password):
    monkeypatch.chdir(tmp_path)
    with dj.config.override({"database.backend": "sqlite"}):
        with pytest.raises(ConfigError, match="names a database server"):
            dj.Connection(host, user, password)
    assert os.listdir(tmp_path) == []


def test_default_backend_of_the_host_form_is_mysql(tmp_path, monkeypatch):
    """Left at its default, the host form means DataJoint's default server, MySQL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dj.config, "_loaded", {k: v for k, v in dj.config._loaded.items()
                                               if k != "database.backend"})
    port = servers.free_port()  # nothing listens there: refused at once
    with pytest.raises(ConnectionError_, match=rf"mysql\+pymysql://alice:\*\*\*@127.0.0.1:{port}"):
        dj.Connection(f"127.0.0.1:{port}", "alice", "secret")
    assert os.listdir(tmp_path) == []


# --- raw queries ----------------------------------------------------------------------------


def test_query_binds_arguments_and_reads_like_a_cursor(conn, subjects):
    table = subjects.full_table_name
    result = conn.query(f"SELECT subject_id, name FROM {table} WHERE subject_id >= %s "
                        "ORDER BY subject_id", (2,))
    assert result.fetchone() == (2, "s2")
    assert result.fetchall() == [(3, "s3")]
    as_dicts = conn.query(f"SELECT name FROM {table} WHERE subject_id = %s", (1,), as_dict=True)
    assert list(as_dicts) == [{"name": "s1"}]
    hostile = "x'); DROP TABLE t; --"
    assert conn.query(f"SELECT name FROM {table} WHERE name = %s", (hostile,)).fetchall() == []
    assert len(subjects) == 3


def test_query_writes_commit_and_join_a_transaction(conn, subjects):
    table = subjects.full_table_name
    conn.query(f"UPDATE {table} SET name = %s WHERE subject_id = %s", ("renamed", 1))
    assert (subjects & {"subject_id": 1}).fetch1("name") == "renamed"
    with pytest.raises(RuntimeError):
        with conn.transaction:
            conn.query(f"DELETE FROM {table} WHERE subject_id = %s", (2,))
            raise RuntimeError("roll back")
    assert len(subjects) == 3


def test_query_refuses_schema_changes_inside_a_transaction(conn, subjects):
    with conn.transaction:
        with pytest.raises(TransactionError, match="inside a transaction"):
            conn.query(f"DROP TABLE {subjects.full_table_name}")
    assert len(subjects) == 3


def test_query_reports_refused_sql(conn):
    with pytest.raises(dj.errors.QueryError, match="refused"):
        conn.query("SELECT no_such_column FROM no_such_table")


# --- dj.Instance ------------------------------------------------------------------------------


def test_instance_owns_its_connection_and_schemas(backend, db_url, server, schema_name,
                                                  tmp_path):
    if server is None:
        instance = dj.Instance(str(tmp_path / "tenant.db"))
    else:
        instance = dj.Instance(server.host, server.user, server.password, port=server.port,
                               backend=backend, database__name=server.database)
    with instance:
        assert instance.connection.backend == backend
        assert instance.config["database.backend"] == backend or server is None
        schema = instance.Schema(schema_name)

        @schema
        class Note(dj.Manual):
            definition = """
            note_id : int32
            ---
            text : varchar(64)
            """

        Note.insert1({"note_id": 1, "text": "hello"})
        free = instance.FreeTable(Note.full_table_name)
        assert free.to_dicts() == [{"note_id": 1, "text": "hello"}]
        assert Note.connection is instance.connection
        schema.drop()
    assert not instance.connection.is_connected


def test_thread_safe_mode_refuses_the_shared_connection(monkeypatch, no_default_connection):
    monkeypatch.setenv("DJ_THREAD_SAFE", "1")
    with pytest.raises(dj.ThreadSafetyError, match="dj.Instance"):
        dj.conn()


# --- Table.validate and the error classes ------------------------------------------------


def test_validate_finds_what_insert_would_refuse_and_writes_nothing(subjects):
    good = [{"subject_id": 7, "name": "ok"}]
    assert subjects.validate(good)
    result = subjects.validate([
        {"subject_id": 8, "name": "fine"},
        {"subject_id": 9, "name": "x" * 40},  # longer than varchar(32)
        {"subject_id": 10, "nmae": "typo"},  # unknown attribute
        {"name": "no key"},  # primary key missing
        {"subject_id": 11, "name": "w", "weight": "heavy"},  # not a number
    ])
    assert not result and result.rows_checked == 5
    rows = [row for row, _, _ in result.errors]
    assert rows == [1, 2, 3, 4]
    assert result.errors[0][1] == "name" and result.errors[3][1] == "weight"
    assert "Row 2" in result.summary()
    with pytest.raises(dj.DataJointError, match="Validation failed"):
        result.raise_if_invalid()
    assert subjects.validate([{"subject_id": 10, "nmae": "typo"}], ignore_extra_fields=True) \
        .errors[0][0] == 0  # name is still missing
    assert len(subjects) == 3


def test_unknown_attribute_is_a_key_error(subjects):
    with pytest.raises(KeyError) as caught:
        subjects.insert1({"subject_id": 5, "name": "a", "colour": "red"})
    assert isinstance(caught.value, dj.UnknownAttributeError)
    assert "colour" in str(caught.value) and not str(caught.value).startswith("'")
    assert len(subjects) == 3


# --- skip_duplicates skips primary-key duplicates only ----------------------------------------


@pytest.fixture
def accounts(schema: dj.Schema) -> type[dj.Manual]:
    @schema
    class Account(dj.Manual):
        definition = """
        account_id : int32
        ---
        email : varchar(64)
        unique index(email)
        """

    Account.insert([{"account_id": 1, "email": "a@x.org"}, {"account_id": 2, "email": "b@x.org"}])
    return Account


def test_skip_duplicates_skips_a_primary_key_that_exists(accounts):
    accounts.insert([{"account_id": 1, "email": "other@x.org"},
                     {"account_id": 3, "email": "c@x.org"}], skip_duplicates=True)
    assert accounts.to_dicts(order_by="account_id") == [
        {"account_id": 1, "email": "a@x.org"}, {"account_id": 2, "email": "b@x.org"},
        {"account_id": 3, "email": "c@x.org"}]


def test_skip_duplicates_raises_for_another_unique_index(backend, accounts):
    """As in DataJoint: on PostgreSQL (and SQLite) a clash on a secondary unique index still
    raises; MySQL's ON DUPLICATE KEY cannot tell the indexes apart and skips it (DataJoint
    does the same there)."""
    row = {"account_id": 9, "email": "a@x.org"}  # new key, taken e-mail
    if backend == "mysql":
        accounts.insert1(row, skip_duplicates=True)
        assert not accounts & {"account_id": 9}
        return
    with pytest.raises(dj.DuplicateError):
        accounts.insert1(row, skip_duplicates=True)
    assert len(accounts) == 2


# --- definitions as DataJoint 2.x writes them ------------------------------------------------


def test_mixed_case_schema_names_and_hyphenated_store_names(conn, schema_name, tmp_path):
    import numpy as np

    name = schema_name + "_MixedCase"  # keeps the t_ prefix: the fixtures clean it up
    stores = {"repo-s3": {"protocol": "file", "location": str(tmp_path / "repo")}}
    with dj.config.override({"stores": stores}):
        schema = dj.Schema(name, connection=conn)
        try:
            @schema
            class Recording(dj.Manual):
                definition = """
                rec_id : int32
                ---
                trace : <npy@repo-s3>
                """

            Recording.insert1({"rec_id": 1, "trace": np.arange(5.0)})
            assert schema.database == name
            assert name in dj.list_schemas(connection=conn)
            np.testing.assert_array_equal(Recording.fetch1("trace").load(), np.arange(5.0))
            assert dj.Schema(name, connection=conn).list_tables() == schema.list_tables()
        finally:
            schema.drop()
    assert name not in dj.list_schemas(connection=conn)


def test_auto_increment_numbers_rows_and_survives_reflection(conn, schema, schema_name):
    @schema
    class Event(dj.Manual):
        definition = """
        event_id : int unsigned auto_increment
        ---
        label : varchar(20)
        """

    Event.insert([{"label": "a"}, {"label": "b"}])
    Event.insert1({"label": "c"})
    Event.insert1({"event_id": 10, "label": "given"})  # a given value is kept
    assert Event.validate([{"label": "d"}])
    rows = Event.to_dicts(order_by="event_id")
    assert [r["label"] for r in rows] == ["a", "b", "c", "given"]
    ids = [r["event_id"] for r in rows]
    assert ids[:3] == sorted(set(ids[:3])) and ids[3] == 10
    assert "auto_increment" in Event.describe()
    again = dj.FreeTable(conn, Event.full_table_name)  # the heading read back from the database
    again.insert1({"label": "e"})
    numbered = list(Event.to_arrays("event_id"))
    assert len(numbered) == len(set(numbered)) == 5


def test_auto_increment_only_follows_a_native_integer(schema):
    with pytest.raises(dj.errors.DefinitionError, match="auto_increment"):
        @schema
        class Bad(dj.Manual):
            definition = """
            bad_id : varchar(8) auto_increment
            """


def test_conn_with_credentials_is_the_server_form(tmp_path, monkeypatch, no_default_connection):
    """dj.conn(host, user, password) as in DataJoint: a server, never an SQLite file."""
    monkeypatch.chdir(tmp_path)
    port = servers.free_port()
    with dj.config.override({"database.backend": "sqlite"}):
        with pytest.raises(ConfigError, match="names a database server"):
            dj.conn(host=f"127.0.0.1:{port}", user="alice", password="pw", reset=True)
    monkeypatch.setattr(dj.config, "_loaded", {k: v for k, v in dj.config._loaded.items()
                                               if k != "database.backend"})
    with pytest.raises(ConnectionError_, match="mysql"):
        dj.conn(host=f"127.0.0.1:{port}", user="alice", password="pw", reset=True)
    assert os.listdir(tmp_path) == []


def test_database_name_is_ignored_on_mysql(on_server, no_default_connection):
    """database.name selects the PostgreSQL database; MySQL has none (as in DataJoint)."""
    backend, server = on_server
    settings_ = {"database.backend": backend, "database.host": server.host,
                 "database.port": server.port, "database.user": server.user,
                 "database.password": server.password,
                 "database.name": server.database or "no_such_db_for_mysql"}
    with dj.config.override(settings_):
        shared = dj.conn(reset=True)
    assert shared.query("SELECT 1").fetchone() == (1,)
