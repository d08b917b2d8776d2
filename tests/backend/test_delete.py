"""Delete, drop and update1: cascades, counts, part integrity and confirmation."""

from __future__ import annotations

import builtins

import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, IntegrityError, RestrictionError
from tests.backend import pipeline


@pytest.fixture
def p(schema):
    lab = pipeline.lab(schema)
    pipeline.fill_lab(lab)
    return lab


def _name(table) -> str:
    return table().full_name


def test_delete_preview_counts_three_levels(p):
    preview = (p.Subject & {"subject_id": 1}).delete_preview()
    assert {k: v for k, v in preview.items() if v} == {
        _name(p.Subject): 1, _name(p.Session): 2, _name(p.Session.Trial): 6, _name(p.Score): 2}
    assert len(p.Subject) == 3 and len(p.Session.Trial) == 12


def test_delete_cascades_and_returns_root_count(p):
    assert (p.Subject & "subject_id <= 2").delete(prompt=False) == 2
    assert p.Subject.keys() == [{"subject_id": 3}]
    assert len(p.Session) == len(p.Session.Trial) == len(p.Score) == 0
    assert len(p.Species) == 2


def test_delete_removes_exactly_the_dependents(p):
    assert (p.Session & {"subject_id": 1, "session": 2}).delete(prompt=False) == 1
    assert len(p.Session) == 3
    assert len(p.Session.Trial) == 9
    assert not p.Session.Trial & {"subject_id": 1, "session": 2}
    assert len(p.Score & {"subject_id": 1}) == 1


def test_delete_cascades_across_schemas_and_renamed_keys(p, schema2):
    @schema2
    class Pairing(dj.Manual):
        definition = """
        -> p.Subject.proj(male='subject_id')
        -> p.Subject.proj(female='subject_id')
        """

    Pairing.insert([{"male": 1, "female": 2}, {"male": 2, "female": 3}, {"male": 3, "female": 3}])
    preview = (p.Subject & {"subject_id": 2}).delete_preview()
    assert preview[_name(Pairing)] == 2
    assert (p.Subject & {"subject_id": 2}).delete(prompt=False) == 1
    assert Pairing.to_dicts() == [{"male": 3, "female": 3}]
    assert len(p.Session) == 2


def test_part_delete_rules(p):
    trials = p.Session.Trial & {"subject_id": 1, "session": 1, "trial": 0}
    with pytest.raises(DataJointError, match="part_integrity"):
        trials.delete(prompt=False)
    with pytest.raises(DataJointError, match="part_integrity"):
        p.Session.Trial.delete(prompt=False)
    assert len(p.Session.Trial) == 12
    assert trials.delete(prompt=False, part_integrity="ignore") == 1
    assert len(p.Session.Trial) == 11 and len(p.Session) == 4
    more = p.Session.Trial & {"subject_id": 2, "session": 1, "trial": 1}
    # the master goes too, and with it all three of its trials
    assert more.delete(prompt=False, part_integrity="cascade") == 3
    assert not p.Session & {"subject_id": 2, "session": 1}
    assert len(p.Session.Trial) == 8
    assert len(p.Score) == 3


def test_master_delete_takes_its_parts(p):
    (p.Session & {"subject_id": 2}).delete(prompt=False)
    assert len(p.Session.Trial) == 6
    assert not p.Session.Trial & {"subject_id": 2}


def test_delete_quick_refuses_referenced_rows(p):
    with pytest.raises(IntegrityError):
        (p.Subject & {"subject_id": 1}).delete_quick()
    assert len(p.Subject) == 3
    assert (p.Subject & {"subject_id": 3}).delete_quick(get_count=True) == 1


def test_prompt_is_asked_outside_a_transaction(p, monkeypatch):
    connection = p.Subject.connection
    asked = []

    def answer(reply):
        def fake_input(question=""):
            assert connection.in_transaction is False
            asked.append(question)
            return reply
        return fake_input

    with dj.config.override(safemode=True):
        monkeypatch.setattr(builtins, "input", answer("no"))
        assert (p.Subject & {"subject_id": 1}).delete() == 0
        assert len(p.Subject) == 3 and len(p.Session.Trial) == 12
        monkeypatch.setattr(builtins, "input", answer("yes"))
        assert (p.Subject & {"subject_id": 1}).delete() == 1
        assert len(p.Subject) == 2 and len(p.Session.Trial) == 6
        monkeypatch.setattr(builtins, "input", answer("no"))
        p.Score.drop()
        assert p.Score.is_declared
    assert len(asked) == 3


def test_prompting_delete_inside_a_transaction_is_refused(p):
    connection = p.Subject.connection
    with pytest.raises(dj.errors.TransactionError):
        with connection.transaction:
            (p.Subject & {"subject_id": 1}).delete(prompt=True)
    assert len(p.Subject) == 3


def test_drop_cascades_to_children(p, schema):
    p.Session.drop(prompt=False)
    assert set(schema.list_tables()) == {"#species", "subject"}
    assert len(p.Subject) == 3


def test_part_drop_needs_the_master(p, schema):
    with pytest.raises(RestrictionError):
        p.Session.Trial.drop(prompt=False)
    assert "session__trial" in schema.list_tables()


def test_schema_drop(p, schema, conn):
    assert schema.database in dj.list_schemas(conn)
    schema.drop(prompt=False)
    assert schema.database not in dj.list_schemas(conn)
    assert not schema.exists


def test_update1(p):
    p.Subject.update1({"subject_id": 1, "name": "Alice", "weight": 3.5})
    assert (p.Subject & {"subject_id": 1}).fetch1("name", "weight") == ("Alice", 3.5)
    assert (p.Subject & {"subject_id": 2}).fetch1("name") == "anon"
    p.Subject.update1({"subject_id": 1, "weight": None})
    assert (p.Subject & {"subject_id": 1}).fetch1("weight") is None
    p.Subject.update1({"subject_id": 1, "name": None})  # None resets to the declared default
    assert (p.Subject & {"subject_id": 1}).fetch1("name") == "anon"
    p.Subject.update1({"subject_id": 1, "name": "Alice"})
    with pytest.raises(RestrictionError, match="primary key"):
        p.Subject.update1({"name": "x"})
    with pytest.raises(RestrictionError, match="no row"):
        p.Subject.update1({"subject_id": 99, "name": "x"})
    with pytest.raises(dj.errors.DataTypeError, match="name"):
        p.Subject.update1({"subject_id": 1, "name": "x" * 40})
    with pytest.raises(RestrictionError):
        (p.Subject & {"subject_id": 1}).update1({"subject_id": 1, "name": "x"})
    assert (p.Subject & {"subject_id": 1}).fetch1("name") == "Alice"


def test_delete_of_nothing_returns_zero_without_asking(p, monkeypatch):
    def no_input(question=""):
        raise AssertionError("nothing to delete: there is nothing to confirm")

    monkeypatch.setattr(builtins, "input", no_input)
    with dj.config.override(safemode=True):
        assert (p.Subject & {"subject_id": 99}).delete() == 0
    assert len(p.Subject) == 3


def test_delete_inside_a_transaction_rolls_back_with_it(p, conn):
    with pytest.raises(RuntimeError):
        with conn.transaction:
            assert (p.Subject & {"subject_id": 1}).delete(prompt=False) == 1
            assert len(p.Session.Trial) == 6
            raise RuntimeError
    assert len(p.Subject) == 3 and len(p.Session.Trial) == 12


def test_unrestricted_delete(p):
    assert p.Session.delete(prompt=False) == 4
    assert len(p.Session.Trial) == len(p.Score) == 0
    assert len(p.Subject) == 3
