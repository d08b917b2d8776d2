"""A schema the database user may not create or drop: AccessError naming the fix, nothing
half-done, and an existing read-only database (information_schema) used as it is.

Privileges exist on the servers only; SQLite has none to refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

import dj_jupyter as dj


@pytest.fixture
def server_conn(backend: str, conn: dj.Connection) -> dj.Connection:
    if backend == "sqlite":
        pytest.skip("SQLite has no privileges to refuse")
    return conn


@contextmanager
def without_create_privilege(backend: str, conn: dj.Connection) -> Iterator[dj.Connection]:
    """A connection whose user may not create schemas (MySQL: a new user with no grants;
    PostgreSQL: the test role with CREATE on its database revoked for the block)."""
    if backend == "mysql":
        conn.query("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                   ("dj_noaccess", "%", "noaccess"))
        url = sa.make_url(str(conn.url)).set(username="dj_noaccess", password="noaccess")
        limited = dj.Connection(url.render_as_string(hide_password=False))
        try:
            yield limited
        finally:
            limited.close()
            conn.query("DROP USER IF EXISTS %s@%s", ("dj_noaccess", "%"))
        return
    database = conn.url.database
    user = conn.get_user()
    conn.query(f'REVOKE CREATE ON DATABASE "{database}" FROM "{user}"')
    try:
        yield conn
    finally:
        conn.query(f'GRANT CREATE ON DATABASE "{database}" TO "{user}"')


def test_creating_a_schema_without_the_privilege_raises_access_error(backend, server_conn,
                                                                     schema_name):
    with without_create_privilege(backend, server_conn) as limited:
        with pytest.raises(dj.errors.AccessError, match="lacks the privilege.*administrator"):
            dj.Schema(schema_name, connection=limited)
    assert schema_name not in dj.list_schemas(connection=server_conn)  # nothing half-made
    assert isinstance(dj.errors.AccessError("x"), dj.errors.QueryError)


def test_a_read_only_database_is_used_as_it_is_and_its_drop_refused(server_conn):
    info = dj.Schema("information_schema", connection=server_conn)  # no error: it exists
    assert not info.exists  # not a DataJoint schema: no catalogue tables were added
    with pytest.raises(dj.errors.AccessError, match="dropping schema 'information_schema'"):
        info.drop(prompt=False)
    assert dj.Schema("information_schema", connection=server_conn) is not None


def test_dropping_a_schema_that_does_not_exist_does_nothing(schema):
    schema.drop(prompt=False)
    assert not schema.exists
    schema.drop(prompt=False)  # nothing left: no error
    assert not schema.exists


def test_a_refused_activation_leaves_nothing_and_its_drop_does_nothing(backend, server_conn,
                                                                       schema_name):
    """Deferred activation under a name the user may not create: AccessError, no schema on
    the server; dropping the schema afterwards (a test's teardown) does nothing, and the
    schema can still be activated under a name the user may create."""
    schema = dj.Schema()

    @schema
    class Probe(dj.Manual):
        definition = """
        probe : int32
        """

    with without_create_privilege(backend, server_conn) as limited:
        with pytest.raises(dj.errors.AccessError, match="lacks the privilege"):
            schema.activate(schema_name, connection=limited)
        schema.drop(prompt=False)  # no AccessError: there is nothing to drop
        assert not schema.exists
    assert schema_name not in dj.list_schemas(connection=server_conn)
    schema.activate(schema_name, connection=server_conn)
    try:
        Probe.insert1({"probe": 1})
        assert len(Probe()) == 1
    finally:
        schema.drop(prompt=False)
    assert schema_name not in dj.list_schemas(connection=server_conn)
