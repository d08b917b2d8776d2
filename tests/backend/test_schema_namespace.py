"""Schema.make_classes() fills the caller's namespace (or the schema's context) as DataJoint's
does, and the names the parity suite reaches: get_table's message, UserTable as the tiers'
base, dj.blob."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.pipeline.tiers import UserTable
from tests import diagram_pipeline


def test_make_classes_without_into_fills_the_callers_locals(schema):
    diagram_pipeline.declare(schema)
    other = dj.Schema(schema.database, connection=schema.connection)  # no context
    other.make_classes()
    found = locals()
    assert {"Subject", "Session", "Stats"} <= set(found)
    assert found["Stats"].Unit.__base__ is dj.Part
    assert found["Session"].__base__ is dj.Manual and issubclass(found["Session"], UserTable)
    assert len(found["Subject"]()) == 0


def test_make_classes_fills_the_schema_context_and_keeps_existing_names(schema):
    diagram_pipeline.declare(schema)
    context: dict = {"Subject": "mine"}
    dj.Schema(schema.database, context=context, connection=schema.connection).make_classes()
    assert context["Subject"] == "mine"  # a name already there is kept
    assert issubclass(context["Scan"], dj.Imported)


def test_get_table_of_an_unknown_name_says_it_does_not_exist(schema):
    diagram_pipeline.declare(schema)
    assert "subject" in schema.get_table("Subject").full_table_name
    with pytest.raises(dj.DataJointError, match="'Nope' does not exist in schema"):
        schema.get_table("Nope")


def test_dj_blob_packs_as_datajoint_and_unpacks():
    value = [{"a": 1, "b": "text"}, {"a": 2, "b": "more"}]
    packed = dj.blob.pack(value, compress=False)
    assert packed.startswith(b"dj0\0") or packed.startswith(b"mYm\0")
    assert dj.blob.unpack(packed) == value
    assert dj.diagram.Diagram is dj.Diagram and isinstance(dj.diagram.diagram_active, bool)


class _Template(dj.Manual):
    """A master written once and declared through subclasses that name their parent."""

    source = None
    definition = """
    -> self.source
    item: int32
    """

    class Note(dj.Part):
        definition = """
        -> master
        note: varchar(32)
        """

    class Link(dj.Part):
        definition = """
        -> master
        -> master.Note
        """


def test_a_subclassed_master_gets_its_own_inherited_parts(schema):
    @schema
    class Animal(dj.Manual):
        definition = "animal: int32"

    @schema
    class AnimalItem(_Template):
        source = Animal

    assert AnimalItem.Link is not _Template.Link and issubclass(AnimalItem.Link, _Template.Link)
    assert AnimalItem.Link.master is AnimalItem
    assert set(AnimalItem.Link().heading.names) == {"animal", "item", "note"}
    assert "_master" not in vars(_Template.Link)  # the template's parts stay unbound
    Animal.insert1({"animal": 1})
    AnimalItem.insert1({"animal": 1, "item": 7})
    AnimalItem.Note.insert1({"animal": 1, "item": 7, "note": "n"})
    AnimalItem.Link.insert1({"animal": 1, "item": 7, "note": "n"})
    assert len(AnimalItem.Link()) == 1
