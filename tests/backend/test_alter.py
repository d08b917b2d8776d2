"""Table.alter(): secondary attributes and the table comment change; the rest is refused."""

from __future__ import annotations

import pytest

import dj_jupyter as dj
from dj_jupyter.catalog.events import subscribe_catalog
from dj_jupyter.errors import DataJointError, DefinitionError, NotAlterableError, TransactionError
from dj_jupyter.tables.alter import plan_for

BASE = """
# animals
subject_id : int32
---
name : varchar(32)       # given name
weight = null : float64
"""


@pytest.fixture
def subject(schema):
    class Subject(dj.Manual):
        definition = BASE

    schema(Subject, context={})
    Subject.insert([{"subject_id": 1, "name": "ann", "weight": 20.5},
                    {"subject_id": 2, "name": "bob", "weight": None}])
    return Subject


def _redefine(table, definition: str):
    """A new class for the same stored table, as re-running a cell makes it."""
    new = type(table.__name__, (dj.Manual,), {"definition": definition})
    new._schema = table._schema
    return new


def _rows(table) -> list[dict]:
    return sorted(table.to_dicts(), key=lambda r: r["subject_id"])


def test_add_a_nullable_attribute_keeps_rows(subject):
    new = _redefine(subject, BASE + "notes = null : varchar(200)  # free text\n")
    plan = new.alter(prompt=False, context={})
    assert [(c.kind, c.name) for c in plan.changes] == [("add", "notes")]
    assert new.heading.names == ["subject_id", "name", "weight", "notes"]
    assert new.heading["notes"].comment == "free text" and new.heading["notes"].nullable
    assert [r["notes"] for r in _rows(new)] == [None, None]
    assert [r["name"] for r in _rows(new)] == ["ann", "bob"]
    new.insert1({"subject_id": 3, "name": "cy", "notes": "new"})
    assert plan_for(new(), {}).is_empty  # describe() now matches the definition


def test_add_with_a_default_fills_existing_rows(subject):
    new = _redefine(subject, BASE + "cage = 7 : int16\n")
    new.alter(prompt=False, context={})
    assert [r["cage"] for r in _rows(new)] == [7, 7]
    assert "cage = 7 : int16" in new.describe()


def test_change_an_attribute_comment(subject):
    new = _redefine(subject, BASE.replace("# given name", "# the name we use"))
    plan = new.alter(prompt=False, context={})
    assert [(c.kind, c.name) for c in plan.changes] == [("comment", "name")]
    assert new.heading["name"].comment == "the name we use"
    assert "name : varchar(32)  # the name we use" in new.describe()
    assert len(new) == 2


def test_change_a_type_and_nullability_converts_values(subject):
    definition = BASE.replace("name : varchar(32)", "name : varchar(64)").replace(
        "weight = null : float64", "weight = 0 : float32")
    subject.update1({"subject_id": 2, "weight": 3.5})
    new = _redefine(subject, definition)
    plan = new.alter(prompt=False, context={})
    assert sorted((c.kind, c.name) for c in plan.changes) == [("modify", "name"),
                                                             ("modify", "weight")]
    assert new.heading["name"].type.text == "varchar(64)"
    assert new.heading["weight"].type.text == "float32" and not new.heading["weight"].nullable
    assert [r["weight"] for r in _rows(new)] == [20.5, 3.5]
    new.insert1({"subject_id": 3, "name": "x" * 60})
    assert _rows(new)[-1]["weight"] == 0
    assert plan_for(new(), {}).is_empty


def test_drop_an_attribute(subject):
    new = _redefine(subject, BASE.replace("weight = null : float64\n", ""))
    plan = new.alter(prompt=False, context={})
    assert "drop" in plan.describe() and new.heading.names == ["subject_id", "name"]
    assert _rows(new) == [{"subject_id": 1, "name": "ann"}, {"subject_id": 2, "name": "bob"}]


def test_change_the_table_comment(subject):
    new = _redefine(subject, BASE.replace("# animals", "# lab animals"))
    plan = new.alter(prompt=False, context={})
    assert plan.comment == ("animals", "lab animals") and not plan.changes
    assert new.info.comment == "lab animals"
    assert new.describe().startswith("# lab animals\n")


def test_children_survive_a_rebuild_of_their_parent(schema, subject):
    Subject = subject  # noqa: N806 - resolved by name in the definition below

    class Weighing(dj.Manual):
        definition = "-> Subject\nday : int16\n---\ngrams : float64\n"

    schema(Weighing, context={"Subject": Subject})
    Weighing.insert1({"subject_id": 1, "day": 1, "grams": 20.0})
    new = _redefine(subject, BASE.replace("name : varchar(32)", "name : varchar(80)"))
    new.alter(prompt=False, context={})
    assert len(Weighing) == 1 and Weighing().parents() == [new().full_table_name]
    with pytest.raises(DataJointError):
        Weighing.insert1({"subject_id": 9, "day": 1, "grams": 1.0})  # FK still enforced
    (new & {"subject_id": 2}).delete(prompt=False)
    assert len(new) == 1


def test_alter_publishes_a_catalogue_event(subject):
    seen = []
    unsubscribe = subscribe_catalog(seen.append)
    try:
        _redefine(subject, BASE + "extra = null : int32\n").alter(prompt=False, context={})
    finally:
        unsubscribe()
    assert [(e.kind, e.table) for e in seen] == [("alter", "subject")]


REFUSED = {
    "primary key": BASE.replace("subject_id : int32", "subject_id : int64"),
    "new key attribute": BASE.replace("---", "visit : int16\n---"),
    "index": BASE + "index(name)\n",
    "rename": BASE.replace("weight = null", "mass = null"),
    "reorder": BASE.replace("name : varchar(32)       # given name\nweight = null : float64",
                            "weight = null : float64\nname : varchar(32)  # given name"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_changes_leave_the_table_unchanged(subject, case):
    before = subject.describe()
    new = _redefine(subject, REFUSED[case])
    with pytest.raises(NotAlterableError, match="drop and re-declare"):
        new.alter(prompt=False, context={})
    assert subject.describe() == before and len(subject) == 2


def test_required_attribute_on_a_filled_table_names_the_fix(subject):
    new = _redefine(subject, BASE + "age : int16\n")
    with pytest.raises(DefinitionError, match="give it a default"):
        new.alter(prompt=False, context={})
    assert "age" not in subject.heading.names


def test_inserted_attribute_must_go_last(subject):
    new = _redefine(subject, BASE.replace("weight = null", "age = null : int16\nweight = null"))
    with pytest.raises(DefinitionError, match="move age to the end"):
        new.alter(prompt=False, context={})


def test_refused_inside_a_transaction(subject):
    new = _redefine(subject, BASE + "extra = null : int32\n")
    with subject.connection.transaction:
        with pytest.raises(TransactionError):
            new.alter(prompt=False, context={})
    assert "extra" not in subject.heading.names


def test_prompt_declined_changes_nothing(subject, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda _question: "no")
    new = _redefine(subject, BASE + "extra = null : int32\n")
    plan = new.alter(context={})
    assert [c.name for c in plan.changes] == ["extra"] and "extra" not in subject.heading.names


def test_a_table_without_a_key_alters_too(schema):
    class Setting(dj.Manual):
        definition = "---\nlevel = 1 : int32\n"

    schema(Setting, context={})  # its hidden key column is not part of the definition
    new = _redefine(Setting, "---\nlevel = 1 : int32\nmode = null : varchar(8)\n")
    new.alter(prompt=False, context={})
    assert [n for n in new.heading.names if not n.startswith("_")] == ["level", "mode"]
    assert plan_for(new(), {}).is_empty


def test_a_failed_alter_changes_nothing(subject):
    # Adding a column and turning names into numbers: the second change fails on the rows,
    # and the first must not stay behind (MySQL commits each DDL statement: one statement).
    changed = BASE.replace("name : varchar(32)       # given name", "name : int32  # given name")
    new = _redefine(subject, changed + "notes = null : varchar(200)\n")
    with pytest.raises(DataJointError):
        new.alter(prompt=False, context={})
    fresh = _redefine(subject, BASE)
    assert fresh.heading.names == ["subject_id", "name", "weight"]
    assert fresh.heading["name"].type.text == "varchar(32)"
    assert [r["name"] for r in _rows(fresh)] == ["ann", "bob"]
