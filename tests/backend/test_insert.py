"""Inserting rows: every row source, the options, and errors that leave nothing written."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import (
    DataTypeError,
    DuplicateError,
    IntegrityError,
    MissingAttributeError,
    PermissionDeniedError,
    UnknownAttributeError,
)
from tests.backend import pipeline


@pytest.fixture
def p(schema):
    return pipeline.lab(schema)


@pytest.fixture
def Event(schema):
    @schema
    class Event(dj.Manual):
        definition = """
        event: int32
        ---
        label: varchar(16)
        value = null: float64
        at = null: datetime(6)
        """

    return Event


def test_insert_dicts_and_insert1(Event):
    Event.insert1({"event": 1, "label": "a"})
    Event.insert([{"event": 2, "label": "b", "value": 2.5}, {"event": 3, "label": "c"}])
    assert Event.to_dicts(order_by="event") == [
        {"event": 1, "label": "a", "value": None, "at": None},
        {"event": 2, "label": "b", "value": 2.5, "at": None},
        {"event": 3, "label": "c", "value": None, "at": None},
    ]


def test_insert_numpy_structured_array(Event):
    rows = np.array([(1, "a", 0.5), (2, "b", np.nan)],
                    dtype=[("event", "i4"), ("label", "U16"), ("value", "f8")])
    Event.insert(rows)
    Event.insert1(np.array([(3, "c", 1.0)], dtype=rows.dtype)[0])  # one record
    assert Event.to_arrays("value").tolist()[0] == 0.5
    assert Event.to_dicts(order_by="event")[1]["value"] is None
    assert len(Event) == 3


def test_insert_dataframe_with_datetimes(Event):
    frame = pd.DataFrame({
        "event": [1, 2], "label": ["a", "b"], "value": [1.5, np.nan],
        "at": pd.to_datetime(["2024-01-01 10:00:00.123456", None]),
    })
    Event.insert(frame)
    rows = Event.to_dicts(order_by="event")
    assert rows[0]["at"] == dt.datetime(2024, 1, 1, 10, 0, 0, 123456)
    assert rows[1]["at"] is None and rows[1]["value"] is None


def test_dataframe_from_to_pandas_round_trips(Event, schema2):
    Event.insert([{"event": i, "label": f"l{i}", "value": i / 2,
                   "at": dt.datetime(2024, 1, i + 1, 1, 2, 3, 456)} for i in range(3)])
    frame = Event.to_pandas()
    assert list(frame.index.names) == ["event"]

    @schema2
    class Event(dj.Manual):  # noqa: F811 - the same definition in another schema
        definition = """
        event: int32
        ---
        label: varchar(16)
        value = null: float64
        at = null: datetime(6)
        """

    Event.insert(frame)
    original = frame.reset_index().to_dict("records")
    copied = Event.to_pandas().reset_index().to_dict("records")
    assert copied == original


def test_positional_rows_are_deprecated(Event):
    with pytest.warns(DeprecationWarning, match="positional"):
        Event.insert([(1, "a", None, None)])
    assert Event.fetch1("label") == "a"


def test_skip_duplicates_and_replace(Event):
    Event.insert1({"event": 1, "label": "a"})
    Event.insert([{"event": 1, "label": "changed"}, {"event": 2, "label": "b"}],
                 skip_duplicates=True)
    assert Event.to_arrays("label", order_by="event").tolist() == ["a", "b"]
    Event.insert([{"event": 1, "label": "new", "value": 9.0}, {"event": 3, "label": "c"}],
                 replace=True)
    assert Event.to_dicts(order_by="event") == [
        {"event": 1, "label": "new", "value": 9.0, "at": None},
        {"event": 2, "label": "b", "value": None, "at": None},
        {"event": 3, "label": "c", "value": None, "at": None},
    ]


def test_ignore_extra_fields(Event):
    Event.insert1({"event": 1, "label": "a", "junk": 3}, ignore_extra_fields=True)
    assert Event.fetch1() == {"event": 1, "label": "a", "value": None, "at": None}


def test_insert_from_query(p):
    pipeline.fill_lab(p)
    Species = p.Species  # noqa: F841 - named in the definition

    @p.Subject._schema
    class Archive(dj.Manual):
        definition = """
        subject_id: int32
        ---
        species: varchar(16)
        """

    Archive.insert(p.Subject.proj("species") & "subject_id > 1")
    assert Archive.keys(order_by="subject_id") == [{"subject_id": 2}, {"subject_id": 3}]
    Archive.insert(p.Subject.proj("species"), skip_duplicates=True)
    assert len(Archive) == 3
    with pytest.raises(DuplicateError):
        Archive.insert(p.Subject.proj("species"))
    assert len(Archive) == 3


def test_direct_insert_into_computed_is_refused(p):
    pipeline.fill_lab(p)
    key = {"subject_id": 3, "session": 1}
    p.Session.insert1(key)
    with pytest.raises(PermissionDeniedError, match="allow_direct_insert"):
        p.Score.insert1({**key, "score": 2.0})
    assert not p.Score & key
    p.Score.insert1({**key, "score": 2.0}, allow_direct_insert=True)
    assert (p.Score & key).fetch1("score") == 2.0


def _good(n):
    return {"event": n, "label": f"l{n}"}


@pytest.mark.parametrize("bad, error, match", [
    ({"event": 1, "label": "dup"}, DuplicateError, "skip_duplicates"),
    ({"event": 12, "label": "x" * 17}, DataTypeError, "label"),
    ({"event": 12, "label": None}, MissingAttributeError, "label"),
    ({"event": 2**31, "label": "x"}, DataTypeError, "event"),
    ({"event": 12, "label": "x", "value": "high"}, DataTypeError, "value"),
])
def test_failed_batch_writes_nothing(Event, bad, error, match):
    Event.insert1(_good(1))
    batch = [{"value": None, "at": None, **row} for row in (_good(10), _good(11), bad)]
    with pytest.raises(error, match=match):
        Event.insert(batch)
    assert Event.keys() == [{"event": 1}]


def test_duplicate_within_the_batch_writes_nothing(Event):
    with pytest.raises(DuplicateError, match="skip_duplicates"):
        Event.insert([_good(1), _good(2), _good(1)])
    assert len(Event) == 0


def test_missing_and_unknown_attributes(Event):
    with pytest.raises(MissingAttributeError, match="label"):
        Event.insert([{"event": 1}, {"event": 2}])
    with pytest.raises(UnknownAttributeError, match="ignore_extra_fields"):
        Event.insert([{**_good(n), "junk": 1} for n in (1, 2, 3)])
    assert len(Event) == 0


def test_foreign_key_violation_writes_nothing(p):
    pipeline.fill_lab(p)
    before = len(p.Session)
    with pytest.raises(IntegrityError):
        p.Session.insert([{"subject_id": 3, "session": 5}, {"subject_id": 99, "session": 1}])
    assert len(p.Session) == before
    assert not p.Session & {"subject_id": 3}


def test_foreign_key_violation_inside_a_transaction_names_the_parent(p, conn):
    """Inside a failed PostgreSQL transaction the server answers nothing until the rollback:
    the message comes from what the catalogue already knows."""
    pipeline.fill_lab(p)
    with pytest.raises(IntegrityError, match=r"subject.*Insert the parent rows first"):
        with conn.transaction:
            p.Session.insert1({"subject_id": 3, "session": 5})
            p.Session.insert1({"subject_id": 99, "session": 1})
    assert not p.Session & {"subject_id": 3}


# skip_duplicates and secondary unique indexes (DataJoint 2.x: only primary-key duplicates
# are skipped on PostgreSQL/SQLite): tests/backend/test_parity_api.py


def test_empty_insert_is_a_no_op(Event):
    Event.insert([])
    Event.insert(pd.DataFrame({"event": [], "label": []}))
    assert len(Event) == 0


def test_keyless_table_holds_one_row_and_hides_its_key(schema):
    @schema
    class Settings(dj.Lookup):
        definition = """
        # one row of settings
        ---
        threshold: float64
        """

    Settings.insert1({"threshold": 0.5})
    assert Settings.to_dicts() == [{"threshold": 0.5}]
    assert Settings.heading.names == ["threshold"] and Settings.primary_key == []
    with pytest.raises(DuplicateError):
        Settings.insert1({"threshold": 0.7})
    assert Settings.fetch1("threshold") == 0.5
    Settings.delete_quick()
    Settings.insert1({"threshold": 0.7})
    assert Settings.fetch1() == {"threshold": 0.7}
