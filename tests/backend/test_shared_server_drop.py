"""Drop and delete on a shared server: they read only the schemas they reach, and schemas
that other sessions drop meanwhile are not an error (issue 12, last bad-input case)."""

from __future__ import annotations

import threading

import pytest

import dj_jupyter as dj
from dj_jupyter.catalog.catalog import graph_for

pytestmark = pytest.mark.slow


def _declare_pair(schema: dj.Schema) -> tuple[type, type]:
    @schema
    class Parent(dj.Manual):
        definition = """
        parent_id: int32
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Parent
        child_id: int32
        """

    return Parent, Child


class Churn(threading.Thread):
    """Another user: creates and drops unrelated schemas, on its own connection, until told
    to stop (or after ``limit`` schemas)."""

    def __init__(self, url: str, prefix: str, limit: int = 400):
        super().__init__(daemon=True)
        self.url, self.prefix, self.limit = url, prefix, limit
        self.stop = threading.Event()
        self.dropped = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        connection = dj.Connection(self.url)
        try:
            while not self.stop.is_set() and self.dropped < self.limit:
                schema = dj.Schema(f"{self.prefix}_{self.dropped}", connection=connection)
                _declare_pair(schema)
                schema.drop(prompt=False)
                self.dropped += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            connection.close()


def test_drop_and_delete_while_other_sessions_drop_schemas(db_url, conn, schema, schema_name,
                                                           backend):
    if backend == "sqlite":
        pytest.skip("a shared server's case: an SQLite file has one writer at a time")
    churn = Churn(db_url, schema_name + "_u")
    churn.start()
    try:
        for round_ in range(12):
            mine = dj.Schema(f"{schema_name}_m{round_}", connection=conn)
            parent, child = _declare_pair(mine)
            parent.insert([{"parent_id": i} for i in range(3)])
            child.insert([{"parent_id": i, "child_id": 0} for i in range(3)])
            conn.invalidate_dependencies()  # read the graph again, while the churn goes on
            assert (parent & {"parent_id": 0}).delete(prompt=False) == 1
            assert len(child) == 2
            conn.invalidate_dependencies()
            parent.drop(prompt=False)
            assert not parent().is_declared and not child().is_declared
            mine.drop(prompt=False)
    finally:
        churn.stop.set()
        churn.join(timeout=120)
    assert churn.error is None, churn.error
    assert churn.dropped > 0


def test_a_delete_reads_only_the_schemas_it_reaches(db_url, conn, schema, schema2, schema_name):
    parent, child = _declare_pair(schema)

    @schema2
    class Grandchild(dj.Manual):
        definition = """
        -> child
        grandchild_id: int32
        """

    unrelated = dj.Schema(schema_name + "_c", connection=conn)
    _declare_pair(unrelated)
    parent.insert1({"parent_id": 1})
    child.insert1({"parent_id": 1, "child_id": 1})
    Grandchild.insert1({"parent_id": 1, "child_id": 1, "grandchild_id": 1})
    fresh = dj.Connection(db_url)
    try:
        graph = graph_for(fresh, [parent().full_name])
        schemas = {name.partition(".")[0] for name in graph.tables}
        assert {schema.database, schema2.database} <= schemas
        if fresh.backend != "sqlite":  # one file: SQLite reads every schema's names anyway
            assert unrelated.database not in schemas
        assert dj.FreeTable(fresh, parent().full_name).delete(prompt=False) == 1
        assert len(Grandchild) == 0 and len(child) == 0
    finally:
        fresh.close()
