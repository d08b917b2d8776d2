"""``dj.deploy.set_replica_identity``: real ``REPLICA IDENTITY`` DDL on PostgreSQL, read back
from ``pg_class``; refused, with nothing changed, on the other backends."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError


@pytest.fixture
def lab(schema: dj.Schema) -> tuple[type[dj.Manual], type[dj.Computed]]:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        """

    @schema
    class Weight(dj.Computed):
        definition = """
        -> Subject
        ---
        grams : float64
        """

        def make(self, key):
            self.insert1({**key, "grams": 1.0})

    return Subject, Weight


def replica_identity(connection: dj.Connection, table: dj.Table) -> str:
    """'d' (default) or 'f' (full), as PostgreSQL stores it."""
    return connection.query("SELECT relreplident FROM pg_class WHERE oid = %s::regclass",
                            (table.full_table_name,)).fetchone()[0]


def test_replica_identity_on_postgresql_or_refused(backend, conn, schema, lab):
    subject, weight = lab
    if backend != "postgresql":
        for target in (schema, subject, weight()):
            with pytest.raises(DataJointError, match=f"PostgreSQL-only: the {backend} backend"):
                dj.deploy.set_replica_identity(target, mode="full", dry_run=False)
        return
    preview = dj.deploy.set_replica_identity(schema)  # dry run by default
    assert preview["tables_analyzed"] == 2 and preview["tables_modified"] == 0
    assert preview["ddl"] == [f"ALTER TABLE {t.full_table_name} REPLICA IDENTITY FULL"
                              for t in (subject, weight)]
    assert {replica_identity(conn, t) for t in (subject, weight)} == {"d"}
    for _ in range(2):  # idempotent: a deploy hook re-runs it
        applied = dj.deploy.set_replica_identity(schema, mode="FULL", dry_run=False)
        assert applied["tables_modified"] == 2 and applied["ddl"] == preview["ddl"]
        assert {replica_identity(conn, t) for t in (subject, weight)} == {"f"}
    one = dj.deploy.set_replica_identity(weight, mode="default", dry_run=False)
    assert one == {"tables_analyzed": 1, "tables_modified": 1,
                   "ddl": [f"ALTER TABLE {weight.full_table_name} REPLICA IDENTITY DEFAULT"]}
    assert (replica_identity(conn, subject), replica_identity(conn, weight)) == ("f", "d")
    subject.insert1({"subject_id": 1})
    weight.populate()
    (subject & {"subject_id": 1}).delete()  # a FULL table still deletes through the cascade
    assert len(weight()) == 0


def test_replica_identity_refuses_what_it_cannot_mean(conn, schema, lab):
    with pytest.raises(DataJointError, match="mode must be 'default' or 'full'; got 'nothing'"):
        dj.deploy.set_replica_identity(schema, mode="nothing")
    with pytest.raises(DataJointError, match="must be a Schema or Table"):
        dj.deploy.set_replica_identity("a schema name")
    with pytest.raises(DataJointError, match="Schema is not activated"):
        dj.deploy.set_replica_identity(dj.Schema(), mode="full")
