"""alter() renames an attribute as DataJoint does: a comment opening with ``{old_name}``.

A rename may change the attribute too (type, default, nullability, as DataJoint's ``CHANGE
COLUMN``): its values are kept and converted, in one step that either happens whole or not
at all (one ALTER on MySQL, one transaction on PostgreSQL, one rebuild on SQLite)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, NotAlterableError
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


def test_a_rename_that_also_changes_keeps_and_converts_the_values(schema, Measurement):
    changed = _redefine(Measurement, RENAMED.replace(
        "reading = null : float32", "reading = -1 : float64").replace(
        "unit : varchar(8)", "unit : varchar(16)"))
    with pytest.raises(DataJointError, match="refused the change and the table is unchanged"):
        changed.alter(prompt=False, context={})  # row 2 holds NULL: NOT NULL cannot be
    assert Measurement.describe() == Measurement().describe()
    stored = dj.FreeTable(schema.connection, Measurement().full_table_name)
    assert stored.heading.names == ["measurement_id", "value", "unit"]  # not renamed either
    assert stored.heading["value"].type.text == "float32"
    (Measurement & {"measurement_id": 2}).delete(prompt=False)
    plan = changed.alter(prompt=False, context={})
    assert sorted((c.kind, c.name) for c in plan.changes) == [
        ("modify", "unit"), ("rename", "reading")]
    assert "values are kept and converted" in plan.describe()
    stored = dj.FreeTable(schema.connection, Measurement().full_table_name)
    assert stored.heading.names == ["measurement_id", "reading", "unit"]
    assert stored.heading["reading"].type.text == "float64"
    assert not stored.heading["reading"].nullable
    assert stored.heading["reading"].comment == "the value"
    assert stored.to_dicts() == [{"measurement_id": 1, "reading": 2.5, "unit": "m"}]
    assert plan_for(changed(), {}).is_empty
    changed.insert1({"measurement_id": 3, "unit": "kg"})
    assert (changed & {"measurement_id": 3}).fetch1("reading") == -1


def test_a_rename_that_becomes_nullable_as_in_datajoints_alter_test(schema):
    """DataJoint's case: ``notes="" : varchar(2048)`` becomes
    ``subject_notes=null : varchar(2048)  # {notes} ...``; the values stay."""
    @schema
    class Experiment(dj.Manual):
        definition = """
        experiment_id : int16
        ---
        notes = "" : varchar(2048)  # e.g. purpose of experiment
        """

    Experiment.insert([{"experiment_id": 1, "notes": "pilot"}, {"experiment_id": 2}])
    renamed = _redefine(Experiment, """
        experiment_id : int16
        ---
        subject_notes = null : varchar(2048)  # {notes} e.g. purpose of experiment
        """)
    renamed.alter(prompt=False, context={})
    assert renamed.to_dicts(order_by="experiment_id") == [
        {"experiment_id": 1, "subject_notes": "pilot"},
        {"experiment_id": 2, "subject_notes": ""}]
    renamed.insert1({"experiment_id": 3})
    assert (renamed & {"experiment_id": 3}).fetch1("subject_notes") is None


@pytest.mark.parametrize("definition, message", [
    (BEFORE.replace("# the value", "# {nothing} the value").replace("value = null",
                                                                  "reading = null"),
     "no secondary attribute 'nothing'"),
    (RENAMED.replace("float32", "<blob>"), "would not convert its stored values"),
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


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=1,
                       max_size=6),
       widen=st.booleans())
def test_a_rename_with_a_change_keeps_every_value(conn, schema_name, values, widen):
    """Any rows: renaming int16 ``value`` to ``reading`` and (maybe) widening it to int64
    keeps each row's value; the other attribute is untouched."""
    name = f"{schema_name}_{abs(hash((tuple(values), widen))) % 10**6}"
    schema = dj.Schema(name, connection=conn)
    try:
        Sample = schema(type("Sample", (dj.Manual,), {"definition": """
            sample_id : int32
            ---
            value = null : int16   # the value
            note = "" : varchar(8)
            """}), context={})
        rows = [{"sample_id": i, "value": v, "note": f"n{i}"} for i, v in enumerate(values)]
        Sample.insert(rows)
        renamed = _redefine(Sample, f"""
            sample_id : int32
            ---
            reading = null : {"int64" if widen else "int16"}   # {{value}} the value
            note = "" : varchar(8)
            """)
        renamed.alter(prompt=False, context={})
        assert renamed.to_dicts(order_by="sample_id") == [
            {"sample_id": r["sample_id"], "reading": r["value"], "note": r["note"]}
            for r in rows]
    finally:
        schema.drop(prompt=False)
