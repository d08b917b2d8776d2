"""Settings where they are used, on every backend: a store changed in place is checked before
anything is written; DJ_THREAD_SAFE stops ``dj.config`` but not a ``dj.Instance``;
``dj.FreeTable("schema.table")`` on the default connection."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.backends import connection as connection_module
from dj_jupyter.errors import ConfigError, ThreadSafetyError


@pytest.fixture
def default_connection(conn: dj.Connection) -> Iterator[dj.Connection]:
    """``conn`` as dj.conn()'s default for one test (the previous default comes back)."""
    saved = connection_module._default.pop("connection", None)
    connection_module._default["connection"] = conn
    yield conn
    connection_module._default.pop("connection", None)
    if saved is not None:
        connection_module._default["connection"] = saved


def test_a_store_changed_in_place_is_refused_before_any_row_is_written(schema, tmp_path):
    good = {"protocol": "file", "location": str(tmp_path / "lab")}
    with dj.config.override({"stores": {"default": "lab", "lab": good}}):

        @schema
        class Trace(dj.Manual):
            definition = """
            trace_id : int32
            ---
            samples : <blob@lab>
            """

        dj.config.stores["lab"] = {"protocol": "file"}  # in place, as DataJoint users do
        with pytest.raises(ConfigError, match="store 'lab' is missing 'location'"):
            Trace.insert1({"trace_id": 1, "samples": np.arange(3)})
        assert len(Trace()) == 0
        dj.config.stores["lab"] = good
        Trace.insert1({"trace_id": 1, "samples": np.arange(3)})
        assert np.array_equal((Trace & {"trace_id": 1}).fetch1("samples"), np.arange(3))


def test_thread_safe_mode_stops_the_global_config_but_not_an_instance(
        backend, db_url, server, schema_name, tmp_path, monkeypatch):
    monkeypatch.setenv("DJ_THREAD_SAFE", "1")
    with pytest.raises(ThreadSafetyError):
        dj.config["safemode"] = True
    if server is None:
        instance = dj.Instance(str(tmp_path / "tenant.db"))
    else:
        instance = dj.Instance(server.host, server.user, server.password, port=server.port,
                               backend=backend, database__name=server.database)
    with instance:
        schema = instance.Schema(schema_name)

        @schema
        class Note(dj.Manual):
            definition = """
            note_id : int32
            ---
            text : varchar(64)
            """

        Note.insert([{"note_id": 1, "text": "a"}, {"note_id": 2, "text": "b"}])
        (Note & {"note_id": 1}).delete()  # reads safemode: the library's own settings work
        assert instance.FreeTable(Note.full_table_name).to_dicts() == [
            {"note_id": 2, "text": "b"}]
        with pytest.raises(ThreadSafetyError):
            dj.FreeTable(Note.full_table_name)
        schema.drop()


def test_free_table_by_name_uses_the_default_connection(default_connection, schema):
    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        """

    Animal.insert1({"animal_id": 7})
    free = dj.FreeTable(Animal.full_table_name)
    assert free.connection is default_connection
    assert free.to_dicts() == [{"animal_id": 7}]


@pytest.mark.parametrize("charset", ["", "latin1"])
def test_connection_charset_reaches_mysql_and_is_harmless_elsewhere(backend, db_url, charset):
    with dj.config.override({"connection.charset": charset}):
        connection = dj.Connection(db_url)
        try:
            if backend == "mysql":
                used = connection.query("SELECT @@character_set_client").fetchone()[0]
                assert used == (charset or "utf8mb4")
            else:
                assert connection.query("SELECT 1").fetchone()[0] == 1
        finally:
            connection.close()
