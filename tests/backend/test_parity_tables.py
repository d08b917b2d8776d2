"""Tables and schemas as DataJoint 2.x has them (issue 17), on every backend."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import MissingTableError
from tests.backend import pipeline


def test_lookup_contents_may_be_a_property(schema):
    @schema
    class Animal(dj.Lookup):
        definition = """
        animal: varchar(10)
        ---
        legs: int16
        """

        @property
        def contents(self):
            return [("cat", 4), {"animal": "hen", "legs": 2}]

    assert Animal.to_dicts(order_by="animal") == [{"animal": "cat", "legs": 4},
                                                  {"animal": "hen", "legs": 2}]


@pytest.fixture
def Visits(schema):
    @schema
    class Animal(dj.Lookup):
        definition = """
        animal: varchar(10)
        """
        contents = [("cat",), ("dog",), ("hen",)]

    @schema
    class Vet(dj.Manual):
        definition = """
        vet: varchar(10)
        """

    @schema
    class Visit(dj.Computed):
        definition = """
        -> Animal
        -> Vet
        """

        @property
        def key_source(self):
            return Animal * (Vet & {"vet": "ada"})

        def make(self, key):
            self.insert1(key)

    @schema
    class Checkup(dj.Computed):
        definition = """
        -> Animal
        """
        key_source = Animal - {"animal": "hen"}  # a plain attribute, not a property

        def make(self, key):
            self.insert1(key)

    Vet.insert([{"vet": "ada"}, {"vet": "bob"}])
    return Animal, Vet, Visit, Checkup


def test_key_source_property_is_read_on_the_class(Visits):
    _, _, Visit, Checkup = Visits
    assert len(Visit.key_source) == 3 == len(Visit().key_source)
    assert {k["vet"] for k in Visit.key_source.to_dicts()} == {"ada"}
    assert len(Checkup.key_source) == 2 == len(Checkup().key_source)
    Visit.populate()
    Checkup.populate()
    assert len(Visit) == 3 and len(Checkup) == 2
    assert len(Visit.key_source - Visit) == 0


def test_schema_iterates_its_tables_in_dependency_order(schema):
    p = pipeline.lab(schema)
    tables = list(schema)
    assert all(isinstance(t, dj.FreeTable) for t in tables)
    names = [t.full_table_name for t in tables]
    assert len(names) == len(set(names)) == 5
    position = {cls: names.index(cls().full_table_name)
                for cls in (p.Species, p.Subject, p.Session, p.Session.Trial, p.Score)}
    assert position[p.Species] < position[p.Subject] < position[p.Session]
    assert position[p.Session] < position[p.Session.Trial]
    assert position[p.Session] < position[p.Score]
    assert [len(t) for t in tables] == [2, 0, 0, 0, 0]  # the Lookup holds its contents


def test_schema_looks_up_tables_by_any_of_their_names(schema):
    p = pipeline.lab(schema)
    p.Species.insert1({"species": "rat"}, skip_duplicates=True)
    for name in ("Species", "species", "#species"):
        assert name in schema
        assert schema[name].full_table_name == p.Species().full_table_name
    assert schema["Score"].full_table_name == p.Score().full_table_name
    assert schema["score"].full_table_name == p.Score().full_table_name
    assert len(schema["Species"]) == len(p.Species)
    assert "Nope" not in schema and "nope" not in schema
    with pytest.raises(MissingTableError, match="Nope"):
        schema["Nope"]


def test_is_activated(conn, schema_name):
    later = dj.Schema(connection=conn)
    assert not later.is_activated()
    later.activate(schema_name, connection=conn)
    assert later.is_activated() and dj.Schema(schema_name, connection=conn).is_activated()
