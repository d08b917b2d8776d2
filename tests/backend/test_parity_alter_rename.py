"""alter() renames an attribute as DataJoint does: a comment opening with ``{old_name}``."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import NotAlterableError
from dj_jupyter.tables.alter import plan_for

BEFORE = """
measurement_id : int32
---
value = null : float32   # the value
unit : varchar(8)        # SI unit
"""
RENAMED = BEFORE.replace("value = null : float32   # the value",
                         "reading = null : float32   # {value} the value")


@pytest.fixture
def Measurement(schema):
    class Measurement(dj.Manual):
        definition = BEFORE

    schema(Measurement, context={})
    Measurement.insert([{"measurement_id": 1, "value": 2.5, "unit": "m"},
                        {"measurement_id": 2, "value": None, "unit": "s"}])
    return Measurement


def _redefine(table, definition: str):
    new = type(table.__name__, (dj.Manual,), {"definition": definition})
    new._schema = table._schema
    return new


def test_rename_keeps_values_comment_and_lineage(schema, Measurement):
    lineage = schema.lineage  # secondary attributes have none: a rename must not add one
    renamed = _redefine(Measurement, RENAMED)
    plan = renamed.alter(prompt=False, context={})
    assert [(c.kind, c.old.name, c.name) for c in plan.changes] == [
        ("rename", "value", "reading")]
    assert "rename value" in plan.describe() and "values are kept" in plan.describe()
    stored = dj.FreeTable(schema.connection, Measurement().full_table_name)
    assert stored.heading.names == ["measurement_id", "reading", "unit"]
    assert stored.heading["reading"].comment == "the value"  # the marker is not stored
    assert stored.heading["reading"].type.text == "float32"
    assert stored.heading["reading"].nullable
    assert stored.to_dicts(order_by="measurement_id") == [
        {"measurement_id": 1, "reading": 2.5, "unit": "m"},
        {"measurement_id": 2, "reading": None, "unit": "s"}]
    assert schema.lineage == lineage
    assert plan_for(renamed(), {}).is_empty  # the same definition again: nothing to do
    renamed.insert1({"measurement_id": 3, "reading": 1.5, "unit": "kg"})
    assert len(renamed & {"reading": 1.5}) == 1


@pytest.mark.parametrize("definition, message", [
    (BEFORE.replace("# the value", "# {nothing} the value").replace("value = null",
                                                                  "reading = null"),
     "no secondary attribute 'nothing'"),
    (RENAMED.replace("float32", "float64"), "alter in two steps"),
    (RENAMED.replace("unit : varchar(8)        # SI unit", "unit2 : varchar(8)  # {value}"),
     "renamed twice"),
])
def test_refused_renames_change_nothing(Measurement, definition, message):
    before = Measurement.describe()
    with pytest.raises(NotAlterableError, match=message):
        _redefine(Measurement, definition).alter(prompt=False, context={})
    assert Measurement.describe() == before and len(Measurement) == 2


def test_rename_without_a_marker_names_the_marker(Measurement):
    with pytest.raises(NotAlterableError, match=r"\{value\}"):
        _redefine(Measurement, BEFORE.replace("value = null", "reading = null")).alter(
            prompt=False, context={})
