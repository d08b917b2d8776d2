"""A refused connect raises our ConnectionError_ that is also the driver's error.

DataJoint lets the driver's exception through (its own TLS test expects
``pymysql.err.OperationalError`` for a user that must use TLS and connects without), so code
written for it catches that class. The law, on every backend: the error is a ConnectionError_
(message naming the fix) and an instance of the driver's exception class with the driver's
``args``, never shows the password, and crosses processes (pickle) as our own class.
"""

from __future__ import annotations

import pickle
import sqlite3
import uuid

import psycopg
import pymysql
import pytest
from sqlalchemy.engine import make_url

import dj_jupyter as dj
from dj_jupyter.errors import ConnectionError_

SECRET = "s3cret-" + uuid.uuid4().hex[:8]
DRIVER_ERROR = {"sqlite": sqlite3.OperationalError, "postgresql": psycopg.OperationalError,
                "mysql": pymysql.err.OperationalError}


def _refused_url(db_url: str, backend: str, tmp_path) -> str:
    """A URL the backend refuses: a wrong password, or (SQLite) a directory as the file."""
    if backend == "sqlite":
        (tmp_path / SECRET).mkdir(exist_ok=True)
        return f"sqlite:///{tmp_path / SECRET}"
    return make_url(db_url).set(password=SECRET).render_as_string(hide_password=False)


def _assert_ours_and_the_drivers(error: BaseException, backend: str) -> None:
    assert isinstance(error, ConnectionError_) and isinstance(error, DRIVER_ERROR[backend])
    assert "Check dj.config['database.*']" in str(error)
    if backend != "sqlite":  # a SQLite path is no secret: it is the database
        assert SECRET not in str(error) and SECRET not in repr(error)
        assert all(SECRET not in str(arg) for arg in error.args)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is ConnectionError_ and str(again) == str(error)


def test_a_refused_connect_is_ours_and_the_drivers(db_url, backend, tmp_path):
    with pytest.raises(ConnectionError_) as failure:
        dj.Connection(_refused_url(db_url, backend, tmp_path))
    _assert_ours_and_the_drivers(failure.value, backend)
    if backend == "mysql":
        assert failure.value.args[0] == 1045  # pymysql's error number, where code reads it
    with pytest.raises(DRIVER_ERROR[backend]):  # what `except` written for DataJoint names
        dj.Connection(_refused_url(db_url, backend, tmp_path))


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
def test_a_user_who_must_use_tls_is_refused_without_it(db_url, backend):
    user = "djtls_" + uuid.uuid4().hex[:8]
    admin = dj.Connection(db_url)
    try:
        for host in ("127.0.0.1", "localhost"):
            admin.query(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s REQUIRE SSL", (SECRET,))
        url = make_url(db_url).set(username=user, password=SECRET, database=None)
        with pytest.raises(pymysql.err.OperationalError) as failure:
            dj.Connection(url.render_as_string(hide_password=False), use_tls=False)
        _assert_ours_and_the_drivers(failure.value, backend)
    finally:
        for host in ("127.0.0.1", "localhost"):
            admin.query(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()
