"""Declaring tables: tiers, names, foreign keys, indexes, comments, describe() round trip."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.errors import DefinitionError, DuplicateError
from tests.backend import pipeline


def test_every_tier_gets_its_name_prefix(schema):
    p = pipeline.lab(schema)

    @schema
    class Raw(dj.Imported):
        definition = """
        -> p.Session
        ---
        size: int64
        """

    tables = schema.list_tables()
    assert set(tables) == {"#species", "subject", "session", "session__trial", "__score", "_raw"}
    # parents before children
    assert tables.index("#species") < tables.index("subject") < tables.index("session")
    assert tables.index("session") < tables.index("session__trial")
    assert p.Session.Trial.table_name == "session__trial"
    assert p.Session.Trial.master is p.Session


def test_lookup_contents_are_inserted(schema):
    p = pipeline.lab(schema)
    assert sorted(r["species"] for r in p.Species.to_dicts()) == ["mouse", "rat"]


def test_redecorating_a_declared_class_is_a_no_op(schema):
    p = pipeline.lab(schema)
    p.Subject.insert1({"subject_id": 1, "species": "rat"})
    again = schema(p.Subject)
    assert again is p.Subject
    assert len(p.Subject) == 1
    assert len(p.Species) == 2
    # a new class with the same definition and name maps to the same stored table
    Species = p.Species  # noqa: F841 - resolved by name in the definition below

    @schema
    class Subject(dj.Manual):
        definition = p.Subject.definition

    assert len(Subject) == 1


def test_foreign_key_across_schemas(schema, schema2):
    p = pipeline.lab(schema)

    @schema2
    class Surgery(dj.Manual):
        definition = """
        -> p.Subject
        surgery: int16
        """

    assert Surgery.primary_key == ["subject_id", "surgery"]
    assert Surgery.heading["subject_id"].lineage == f"{schema.database}.subject.subject_id"
    p.Subject.insert1({"subject_id": 1, "species": "rat"})
    Surgery.insert1({"subject_id": 1, "surgery": 1})
    with pytest.raises(dj.IntegrityError):
        Surgery.insert1({"subject_id": 2, "surgery": 1})
    assert Surgery().full_table_name in p.Subject.children()


def test_nullable_and_unique_foreign_keys(schema):
    p = pipeline.lab(schema)

    @schema
    class Cage(dj.Manual):
        definition = """
        cage: int32
        ---
        -> [nullable] p.Subject
        """

    @schema
    class Tag(dj.Manual):
        definition = """
        tag: varchar(8)
        ---
        -> [unique] p.Subject
        """

    assert Cage.heading["subject_id"].nullable
    assert not Tag.heading["subject_id"].nullable
    p.Subject.insert([{"subject_id": 1, "species": "rat"}, {"subject_id": 2, "species": "rat"}])
    Cage.insert1({"cage": 1})
    Cage.insert1({"cage": 2, "subject_id": 1})
    assert (Cage & "subject_id IS NULL").keys() == [{"cage": 1}]
    assert (Cage & {"subject_id": None}).keys() == [{"cage": 1}]
    Tag.insert1({"tag": "a", "subject_id": 1})
    with pytest.raises(DuplicateError):
        Tag.insert1({"tag": "b", "subject_id": 1})
    assert len(Tag) == 1


def test_renamed_foreign_keys_to_one_parent(schema):
    p = pipeline.lab(schema)

    @schema
    class Pairing(dj.Manual):
        definition = """
        -> p.Subject.proj(male='subject_id')
        -> p.Subject.proj(female='subject_id')
        ---
        """

    assert Pairing.primary_key == ["male", "female"]
    fks = {fk.attr_map for fk in Pairing().info.foreign_keys}
    assert fks == {(("male", "subject_id"),), (("female", "subject_id"),)}
    p.Subject.insert([{"subject_id": i, "species": "rat"} for i in (1, 2)])
    Pairing.insert1({"male": 1, "female": 2})
    with pytest.raises(dj.IntegrityError):
        Pairing.insert1({"male": 1, "female": 3})
    assert Pairing.to_dicts() == [{"male": 1, "female": 2}]


def test_parents_reports_each_renamed_foreign_key(schema):
    p = pipeline.lab(schema)  # noqa: F841 - named in the definition

    @schema
    class Pairing(dj.Manual):
        definition = """
        -> p.Subject.proj(male='subject_id')
        -> p.Subject.proj(female='subject_id')
        """

    entries = Pairing.parents(foreign_key_info=True)
    subject = p.Subject().full_table_name
    assert [name for name, _ in entries] == [subject, subject]
    assert sorted(info["attr_map"]["male" if "male" in info["attr_map"] else "female"]
                  for _, info in entries) == ["subject_id", "subject_id"]
    assert sorted(k for _, info in entries for k in info["attr_map"]) == ["female", "male"]
    assert all(info["primary"] for _, info in entries)


def test_indexes_and_unique_index_enforced(schema):
    @schema
    class Person(dj.Manual):
        definition = """
        person: int32
        ---
        email: varchar(64)
        first: varchar(16)
        last: varchar(16)
        unique index(email)
        index(last, first)
        """

    indexes = {(i.attributes, i.unique) for i in Person.heading.indexes}
    assert (("email",), True) in indexes
    assert (("last", "first"), False) in indexes
    Person.insert1({"person": 1, "email": "a@x", "first": "A", "last": "B"})
    with pytest.raises(DuplicateError):
        Person.insert1({"person": 2, "email": "a@x", "first": "C", "last": "D"})
    assert len(Person) == 1


def test_table_comment_and_defaults(schema):
    p = pipeline.lab(schema)
    assert p.Subject().info.comment == "experimental subjects"
    assert p.Subject.heading["name"].comment == "the name"
    assert p.Subject.heading["name"].default.value == "anon"
    p.Subject.insert1({"subject_id": 7, "species": "rat"})
    row = (p.Subject & {"subject_id": 7}).fetch1()
    assert row == {"subject_id": 7, "species": "rat", "name": "anon", "weight": None}


def test_computed_with_own_primary_key_is_refused_when_strict(schema):
    p = pipeline.lab(schema)  # noqa: F841 - named in the definitions

    with dj.config.override({"jobs.allow_new_pk_fields_in_computed_tables": False}), \
            pytest.raises(DefinitionError, match="allow_new_pk_fields_in_computed_tables"):
        @schema
        class Bad(dj.Computed):
            definition = """
            -> p.Subject
            extra: int32
            ---
            value: float64
            """

    assert "__bad" not in schema.list_tables()
    with dj.config.override({"jobs.allow_new_pk_fields_in_computed_tables": True}):
        @schema
        class Allowed(dj.Computed):
            definition = """
            -> p.Subject
            extra: int32
            ---
            value: float64
            """
    assert Allowed.primary_key == ["subject_id", "extra"]


RICH = """
# a table with many kinds of attributes
-> Subject
item: varchar(12)          # item name
---
-> [nullable] Subject.proj(buddy='subject_id')
count = 3: int16           # how many
ratio = null: float32
flag = 1: bool
label = "x y": varchar(20)
kind = 'a': enum('a', 'b')
amount = null: decimal(8,3)
when = null: datetime(3)
day = null: date
meta = null: json
token = null: uuid
raw = null: bytes
code: char(4)
unique index(code)
index(count, ratio)
"""


def _heading_summary(table) -> list[tuple]:
    return [(a.name, a.type.text, a.in_key, a.nullable, a.default, a.comment)
            for a in table.heading.attributes.values()]


def test_describe_redeclares_an_identical_table(schema, schema2):
    p = pipeline.lab(schema)
    Subject = p.Subject  # noqa: F841 - named in RICH

    @schema
    class Rich(dj.Manual):
        definition = RICH

    text = Rich.describe()
    assert "Subject.proj(buddy=" in text

    @schema2
    class Copy(dj.Manual):
        definition = text

    assert _heading_summary(Copy) == _heading_summary(Rich)
    assert Copy().info.comment == Rich().info.comment == "a table with many kinds of attributes"
    assert set(Copy.heading.indexes) == set(Rich.heading.indexes)
    fk = {(f.parent, f.attr_map, f.nullable) for f in Copy().info.foreign_keys}
    assert fk == {(f.parent, f.attr_map, f.nullable) for f in Rich().info.foreign_keys}
    assert Copy.describe(context={"Subject": p.Subject}) == text


def test_stored_layout_is_datajoint_compatible(schema, backend):
    p = pipeline.lab(schema)
    lineage = schema.lineage
    assert lineage[("subject", "subject_id")] == f"{schema.database}.subject.subject_id"
    assert lineage[("session", "subject_id")] == f"{schema.database}.subject.subject_id"
    assert lineage[("session__trial", "trial")] == f"{schema.database}.session__trial.trial"
    assert "~lineage" not in schema.list_tables()
    if backend == "sqlite":
        return
    inspector = sa.inspect(p.Subject.connection.engine)
    columns = {c["name"]: c for c in inspector.get_columns("subject", schema=schema.database)}
    assert columns["subject_id"]["comment"] == ":int32:"
    assert columns["name"]["comment"] == ":varchar(32):the name"
    assert columns["weight"]["comment"] == ":float64:"
    comment = inspector.get_table_comment("subject", schema=schema.database)["text"]
    assert comment == "experimental subjects"
    assert "~lineage" in inspector.get_table_names(schema=schema.database)
