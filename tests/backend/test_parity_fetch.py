"""Fetch and algebra as DataJoint 2.x has them (issue 17), on every backend."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError, FetchError, MissingTableError, RestrictionError


@pytest.fixture
def People(schema):
    @schema
    class Person(dj.Manual):
        definition = """
        person_id: int32
        ---
        name: varchar(30)
        home_city: varchar(30)
        height = null: float32
        trace = null: <blob>
        """

    Person.insert([
        {"person_id": 1, "name": "Cy", "home_city": "Oslo", "height": 15.3,
         "trace": np.arange(3).reshape(1, 3)},
        {"person_id": 2, "name": "Ann", "home_city": "Rome", "height": 2.2,
         "trace": np.ones((3, 1))},
        {"person_id": 3, "name": "Bo", "home_city": "Oslo", "height": None, "trace": None},
    ])
    return Person


def test_squeeze_drops_length_one_dimensions(People):
    plain = People.to_dicts(order_by="person_id")
    assert plain[0]["trace"].shape == (1, 3)
    squeezed = People.to_dicts(order_by="person_id", squeeze=True)
    assert squeezed[0]["trace"].shape == (3,) and squeezed[1]["trace"].shape == (3,)
    assert squeezed[2]["trace"] is None
    assert (People & {"person_id": 2}).fetch1("trace", squeeze=True).shape == (3,)
    assert (People & {"person_id": 2}).fetch1(squeeze=True)["trace"].shape == (3,)
    traces = People.to_arrays("trace", order_by="person_id", squeeze=True)
    assert traces[0].shape == (3,)
    assert People.to_pandas(squeeze=True).loc[1, "trace"].shape == (3,)


def test_text_attribute_is_a_numpy_str_array(People):
    names = People.to_arrays("name", order_by="person_id")
    assert names.dtype.kind == "U"
    assert names.tolist() == ["Cy", "Ann", "Bo"]
    ids, cities = People.to_arrays("person_id", "home_city", order_by="person_id")
    assert cities.dtype.kind == "U" and ids.dtype == np.int64


def test_order_by_several_attributes_in_one_string(People):
    rows = People.to_dicts(order_by="home_city, name DESC")
    assert [r["person_id"] for r in rows] == [1, 3, 2]
    assert People.keys(order_by="home_city DESC,person_id") == \
        People.keys(order_by=["home_city DESC", "person_id"]) == [
            {"person_id": 2}, {"person_id": 1}, {"person_id": 3}]
    with pytest.raises(RestrictionError, match="empty name"):
        People.to_dicts(order_by="name,")


def test_keys_ordered_by_an_attribute_outside_the_key(People):
    assert People.keys(order_by="name") == [{"person_id": 2}, {"person_id": 3},
                                            {"person_id": 1}]
    assert People.keys(order_by="home_city DESC, name", limit=2) == [
        {"person_id": 2}, {"person_id": 3}]
    with pytest.warns(DeprecationWarning):
        assert People.fetch("KEY", order_by="name", limit=1) == [{"person_id": 2}]


def test_proj_with_ellipsis_renames_instead_of_copying(People):
    renamed = People.proj(..., city="home_city")
    assert "home_city" not in renamed.heading.names
    assert renamed.heading.names == ["person_id", "name", "city", "height", "trace"]
    row = (renamed & {"person_id": 1}).fetch1()
    assert row["city"] == "Oslo" and "home_city" not in row
    copied = People.proj(..., city="(home_city)")
    assert {"home_city", "city"} <= set(copied.heading.names)
    assert People.proj("home_city", city="home_city").heading.names == [
        "person_id", "home_city", "city"]


def test_float32_reads_back_as_its_shortest_repr(People):
    assert (People & {"person_id": 1}).fetch1("height") == 15.3
    assert People.to_arrays("height", order_by="person_id")[:2].tolist() == [15.3, 2.2]
    assert People.to_pandas().loc[2, "height"] == 2.2


@pytest.fixture
def Floats(schema):
    @schema
    class Floats(dj.Manual):
        definition = """
        n: int32
        ---
        x: float32
        """

    return Floats


FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(FLOAT32, min_size=1, max_size=8))
def test_every_float32_reads_back_exactly_and_short(Floats, values):
    """Whatever float32 is stored comes back as the same float32, written as briefly as
    numpy writes it (MariaDB's 6-digit float text must not round it)."""
    Floats.delete_quick()
    Floats.insert([{"n": i, "x": v} for i, v in enumerate(values)])
    back = Floats.to_arrays("x", order_by="n").tolist()
    assert [np.float32(b) for b in back] == [np.float32(v) for v in values]
    assert back == [float(str(np.float32(v))) for v in values]


def test_to_polars_and_to_arrow(People):
    pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    frame = People.to_polars(order_by="person_id")
    assert frame.columns == ["person_id", "name", "home_city", "height", "trace"]
    assert frame["name"].to_list() == ["Cy", "Ann", "Bo"]
    assert frame["height"].to_list()[:2] == pytest.approx([15.3, 2.2])
    table = People.to_arrow(order_by="person_id")
    assert table.column_names == frame.columns
    assert table.column("person_id").to_pylist() == [1, 2, 3]
    empty = (People & {"person_id": 99}).to_arrow()
    assert empty.num_rows == 0 and empty.column_names == frame.columns
    assert (People & {"person_id": 99}).to_polars().columns == frame.columns


@pytest.mark.parametrize("module, extra, method", [("polars", "polars", "to_polars"),
                                                   ("pyarrow", "arrow", "to_arrow")])
def test_missing_optional_extra_names_it(People, monkeypatch, module, extra, method):
    monkeypatch.setitem(sys.modules, module, None)  # what `import module` sees when absent
    with pytest.raises(FetchError, match=rf"dj-jupyter\[{extra}\]"):
        getattr(People, method)()


def test_insert_from_a_csv_path(People, tmp_path: Path):
    path = tmp_path / "people.csv"
    path.write_text("person_id,name,home_city,height\n4,Di,Bern,1.5\n5,Ed,Kyiv,\n")
    People.insert(path)
    assert (People & "person_id > 3").to_dicts(order_by="person_id") == [
        {"person_id": 4, "name": "Di", "home_city": "Bern", "height": 1.5, "trace": None},
        {"person_id": 5, "name": "Ed", "home_city": "Kyiv", "height": None, "trace": None}]
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,name,home_city\n6,Fo,Graz\n7.5,Gu,Lima\n")
    with pytest.raises(DataTypeError, match="whole number"):
        People.insert(bad)
    assert len(People & "person_id > 5") == 0
    with pytest.raises(DataTypeError, match="could not read"):
        People.insert(tmp_path / "missing.csv")


def test_undecorated_table_class_names_the_fix(schema):
    class Loose(dj.Manual):
        definition = """
        x: int32
        """

    loose = Loose()  # made, as in DataJoint; any use says what to do
    for use in (lambda: Loose.insert1({"x": 1}), lambda: Loose.to_dicts(),
                lambda: Loose.heading, lambda: Loose & "x = 1", lambda: len(Loose),
                lambda: loose.full_table_name, lambda: loose.heading, lambda: len(loose),
                lambda: loose.insert1({"x": 1})):
        with pytest.raises(MissingTableError, match="not properly configured.*@schema"):
            use()


def test_tables_of_a_schema_without_a_name_wait_for_activate(conn, schema_name):
    later = dj.Schema(connection=conn)

    @later
    class Waiting(dj.Manual):
        definition = """
        x: int32
        """

    with pytest.raises(MissingTableError, match="activate"):
        Waiting().heading  # noqa: B018 - reading it is the use
    later.activate(schema_name, connection=conn)
    Waiting.insert1({"x": 1})
    assert Waiting.to_dicts() == [{"x": 1}]


def test_heading_as_dtype_builds_records_to_insert(People):
    dtype = People.heading.as_dtype
    assert dtype.names == ("person_id", "name", "home_city", "height", "trace")
    rows = np.array([(7, "Ida", "Nice", 1.25, None)], dtype=dtype)
    People.insert(rows)
    assert (People & {"person_id": 7}).fetch1("name", "height") == ("Ida", 1.25)


def test_preview_is_the_text_table_with_its_own_limit(People):
    text = People.preview(limit=2)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["*person_id", "name", "home_city"]
    assert len([line for line in lines[2:] if line.strip()[:1].isdigit()]) == 2
    assert "..." in text
    assert People.preview() == repr(People())


def test_a_page_of_a_top_keeps_its_order(People):
    ordered = People & dj.Top(None, order_by="name DESC")
    assert ordered.to_arrays("name", limit=2).tolist() == ["Cy", "Bo"]
    assert [r["person_id"] for r in (People & dj.Top(3, "name")).to_dicts(limit=2)] == [2, 3]


def test_free_table_repr_names_the_stored_table(People):
    free = dj.FreeTable(People.connection, People().full_table_name)
    assert repr(free).startswith("FreeTable(" + People().full_table_name + ")")
