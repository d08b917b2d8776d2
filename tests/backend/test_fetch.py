"""Fetching and restricting: every fetch form, and every restriction operand."""

from __future__ import annotations

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import FetchError
from tests.backend import pipeline


@pytest.fixture
def p(schema):
    lab = pipeline.lab(schema)
    pipeline.fill_lab(lab)
    lab.Subject.update1({"subject_id": 2, "name": "Bob", "weight": 20.5})
    return lab


def test_to_dicts_and_to_pandas(p):
    rows = p.Subject.to_dicts(order_by="subject_id")
    assert rows[1] == {"subject_id": 2, "species": "mouse", "name": "Bob", "weight": 20.5}
    frame = p.Subject.to_pandas()
    assert list(frame.index.names) == ["subject_id"]
    assert list(frame.columns) == ["species", "name", "weight"]
    assert frame.loc[2, "name"] == "Bob"
    empty = (p.Subject & {"subject_id": 99}).to_pandas()
    assert len(empty) == 0
    assert list(empty.columns) == ["subject_id", "species", "name", "weight"]
    assert empty.index.names == [None]


def test_to_arrays(p):
    records = p.Subject.to_arrays(order_by="subject_id")
    assert records.dtype.names == ("subject_id", "species", "name", "weight")
    assert records["subject_id"].dtype == np.int64
    assert records["subject_id"].tolist() == [1, 2, 3]
    ids, names = p.Subject.to_arrays("subject_id", "name", order_by="subject_id")
    assert ids.tolist() == [1, 2, 3]
    assert names.tolist() == ["anon", "Bob", "anon"]
    weights = p.Subject.to_arrays("weight", order_by="subject_id")
    assert weights.dtype == np.float64 and np.isnan(weights[0]) and weights[1] == 20.5
    empty = (p.Subject & "subject_id > 10").to_arrays()
    assert len(empty) == 0 and empty.dtype.names == records.dtype.names


def test_keys(p):
    assert p.Session.keys(order_by="KEY", limit=2) == [
        {"subject_id": 1, "session": 1}, {"subject_id": 1, "session": 2}]


def test_fetch1(p):
    one = p.Subject & {"subject_id": 2}
    assert one.fetch1() == {"subject_id": 2, "species": "mouse", "name": "Bob", "weight": 20.5}
    assert one.fetch1("name") == "Bob"
    assert one.fetch1("name", "weight") == ("Bob", 20.5)
    assert type(one.fetch1("subject_id")) is int
    assert one.fetch1("KEY") == {"subject_id": 2}
    assert (p.Subject & {"subject_id": 1}).fetch1("weight") is None  # NULL, as in fetch1()
    with pytest.raises(FetchError, match="none"):
        (p.Subject & {"subject_id": 99}).fetch1()
    with pytest.raises(FetchError, match="several"):
        p.Subject.fetch1()
    with pytest.raises(FetchError):
        p.Subject.fetch1("name")


def test_deprecated_fetch_forms(p):
    with pytest.warns(DeprecationWarning):
        records = p.Subject.fetch(order_by="subject_id")
    assert records["name"].tolist() == ["anon", "Bob", "anon"]
    with pytest.warns(DeprecationWarning):
        assert p.Subject.fetch(as_dict=True, order_by="subject_id")[1]["name"] == "Bob"
    with pytest.warns(DeprecationWarning):
        assert p.Subject.fetch("KEY", order_by="subject_id")[0] == {"subject_id": 1}
    with pytest.warns(DeprecationWarning):
        ids, names = p.Subject.fetch("subject_id", "name", order_by="subject_id")
    assert ids.tolist() == [1, 2, 3] and names.tolist() == ["anon", "Bob", "anon"]
    with pytest.warns(DeprecationWarning):
        assert list(p.Subject.fetch(format="frame").index.names) == ["subject_id"]


def test_head_tail_order_limit_offset(p):
    assert [r["trial"] for r in (p.Session.Trial & {"subject_id": 1, "session": 1}).head(2)] \
        == [0, 1]
    assert [(r["subject_id"], r["session"], r["trial"]) for r in p.Session.Trial.tail(2)] == [
        (2, 2, 1), (2, 2, 2)]
    ordered = p.Session.Trial.to_dicts(order_by=["subject_id DESC", "session", "trial DESC"],
                                       limit=3, offset=1)
    assert [(r["subject_id"], r["session"], r["trial"]) for r in ordered] == [
        (2, 1, 1), (2, 1, 0), (2, 2, 2)]
    assert len(p.Session.Trial.to_dicts(order_by="KEY", offset=10)) == 2


def test_len_bool_in_iteration(p):
    assert len(p.Subject) == 3
    assert bool(p.Subject & {"subject_id": 1})
    assert not (p.Subject & {"subject_id": 99})
    assert {"subject_id": 1} in p.Subject
    assert {"subject_id": 99} not in p.Subject
    assert [r["subject_id"] for r in p.Subject] == [1, 2, 3]
    assert len(list(p.Session.Trial)) == 12


def test_dict_restrictions(p):
    assert len(p.Subject & {"subject_id": 2, "unknown_key": 5}) == 1
    assert (p.Subject & {"weight": None}).keys(order_by="KEY") == [
        {"subject_id": 1}, {"subject_id": 3}]
    assert len(p.Subject & {"unknown_key": 5}) == 3
    assert len(p.Subject & {}) == 3


def test_or_and_not_restrictions(p):
    either = p.Subject & [{"subject_id": 1}, {"subject_id": 3}]
    assert sorted(k["subject_id"] for k in either.keys()) == [1, 3]
    assert len(p.Subject & []) == 0
    both = p.Subject & dj.AndList([{"species": "mouse"}, "subject_id >= 2"])
    assert sorted(k["subject_id"] for k in both.keys()) == [2, 3]
    assert len(p.Subject & dj.AndList([])) == 3
    assert (p.Subject & dj.Not({"subject_id": 1})).keys(order_by="KEY") == [
        {"subject_id": 2}, {"subject_id": 3}]
    assert (p.Subject - [{"subject_id": 1}, {"subject_id": 2}]).keys() == [{"subject_id": 3}]
    assert (p.Subject & "name = 'Bob'").keys() == [{"subject_id": 2}]


def test_semijoin_and_antijoin_by_table(p):
    assert sorted(k["subject_id"] for k in (p.Subject & p.Session).keys()) == [1, 2]
    assert (p.Subject - p.Session).keys() == [{"subject_id": 3}]
    with_session_two = p.Subject & (p.Session & {"session": 2, "subject_id": 2})
    assert with_session_two.keys() == [{"subject_id": 2}]
    assert (p.Subject & p.Session.proj()).keys(order_by="KEY") == [
        {"subject_id": 1}, {"subject_id": 2}]


def test_hostile_string_is_matched_literally(p):
    hostile = "x'; DROP TABLE subject; --"
    p.Subject.insert1({"subject_id": 9, "species": "rat", "name": hostile})
    assert (p.Subject & {"name": hostile}).keys() == [{"subject_id": 9}]
    assert len(p.Subject & {"name": "x'"}) == 0
    assert len(p.Subject) == 4
    assert "subject" in p.Subject._schema.list_tables()


def test_to_pandas_dtypes_and_nulls_are_the_same_on_every_backend(schema):
    import datetime as dt

    import pandas as pd

    @schema
    class Mixed(dj.Manual):
        definition = """
        id: int32
        ---
        flag = null: bool
        moment = null: datetime(3)
        ratio = null: float64
        small = null: float32
        count = null: int32
        label = null: varchar(8)
        payload = null: json
        """

    Mixed.insert([
        {"id": 1, "flag": True, "moment": dt.datetime(2024, 5, 6, 7, 8, 9, 123000),
         "ratio": 0.5, "small": 0.25, "count": 3, "label": "x", "payload": {"k": [1]}},
        {"id": 2},
    ])
    frame = Mixed.to_pandas()
    assert {k: str(v) for k, v in frame.dtypes.items()} == {
        "flag": "object", "moment": "datetime64[us]", "ratio": "float64", "small": "float64",
        "count": "float64", "label": str(pd.DataFrame({"s": ["x", None]}).dtypes["s"]),
        "payload": "object"}
    first, second = frame.loc[1], frame.loc[2]
    assert first["flag"] is True and first["payload"] == {"k": [1]}
    assert first["moment"] == dt.datetime(2024, 5, 6, 7, 8, 9, 123000)
    assert second["flag"] is None and second["payload"] is None
    assert str(second["moment"]) == "NaT"
    assert all(second[c] != second[c] for c in ("ratio", "small", "count"))  # NaN
