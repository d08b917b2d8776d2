"""Lineage: where each attribute was born, stored in ~lineage and rebuilt when missing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.catalog import metadata as catalog


@pytest.fixture
def tables(schema):
    @schema
    class Animal(dj.Manual):
        definition = """
        animal: int32
        ---
        note = "": varchar(16)
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Animal
        visit: int16
        ---
        note = "": varchar(16)
        """

    @schema
    class Pair(dj.Manual):
        definition = """
        -> Animal.proj(mother='animal')
        -> Animal.proj(child='animal')
        """

    Animal.insert([{"animal": i} for i in range(3)])
    Visit.insert([{"animal": 1, "visit": 1}])
    Pair.insert1({"mother": 0, "child": 1})
    return Animal, Visit, Pair


def test_declared_lineage_is_stored_and_follows_foreign_keys(schema, tables):
    Animal, Visit, Pair = tables
    born = f"{schema.database}.animal.animal"
    assert schema.lineage[("animal", "animal")] == born
    assert schema.lineage[("visit", "animal")] == born
    assert schema.lineage[("pair", "mother")] == born  # renames keep lineage
    assert ("visit", "note") not in schema.lineage  # native secondary: none
    assert Visit.heading["visit"].lineage == f"{schema.database}.visit.visit"


def test_missing_lineage_is_rebuilt_from_foreign_keys(schema, conn, tables):
    Animal, Visit, Pair = tables
    lineage = catalog.lineage_table(conn, schema.database)
    conn.execute(sa.delete(lineage))  # as if another tool had declared the tables
    conn.invalidate_dependencies()
    assert Visit.heading["animal"].lineage == f"{schema.database}.animal.animal"
    assert len(Animal.proj() * Visit) == 1  # the join still matches on animal
    assert len(Animal.proj(mother="animal") & Pair) == 1
    # animal.animal; visit.animal, visit.visit; pair.mother, pair.child
    assert schema.rebuild_lineage() == 5
    assert schema.lineage[("pair", "child")] == f"{schema.database}.animal.animal"


def test_homonymous_secondary_attributes_are_not_matched(tables):
    Animal, Visit, _ = tables
    with pytest.raises(dj.DataJointError, match=r"note.*\.proj\("):
        Animal * Visit
    assert len(Animal.join(Visit, semantic_check=False)) == 1  # matched by name: note == note
    assert len(Animal.proj() * Visit) == 1
