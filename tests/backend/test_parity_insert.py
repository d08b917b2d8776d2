"""Insert as DataJoint 2.x has it (issue 17): rows of defaults only, ``insert_dataframe``,
polars and pyarrow frames as rows, and the messages DataJoint users look for.

The law, on every backend: every row source (dicts, pandas, polars, pyarrow, records) inserts
the same rows, and ``insert_dataframe(T.to_pandas())`` puts back exactly what was read.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError, MissingAttributeError, RestrictionError


@pytest.fixture
def Scores(schema):
    @schema
    class Scores(dj.Manual):
        definition = """
        id: int32
        ---
        value: varchar(40)
        score = null: float64
        """

    return Scores


@pytest.fixture
def Notes(schema):
    @schema
    class Notes(dj.Manual):
        definition = """
        note_id: int auto_increment
        ---
        written = CURRENT_TIMESTAMP: datetime
        text = null: varchar(200)
        """

    return Notes


def _rows(table) -> list[dict]:
    return table.to_dicts(order_by="KEY")


# -- rows of defaults only -------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:native type int auto_increment")
def test_an_empty_row_takes_every_default(Notes):
    Notes.insert1({})
    Notes.insert([{}, {}])
    rows = _rows(Notes)
    assert [r["note_id"] for r in rows] == [1, 2, 3]
    assert all(r["written"] is not None and r["text"] is None for r in rows)


def test_an_empty_row_without_defaults_names_what_it_needs(Scores):
    with pytest.raises(MissingAttributeError) as refused:
        Scores.insert1({})
    message = str(refused.value)
    assert "Cannot insert empty row" in message and "require values" in message
    assert "'id'" in message and "'value'" in message and "'score'" not in message
    with pytest.raises(MissingAttributeError):
        Scores.insert([{}, {}])
    assert len(Scores) == 0


def test_no_rows_insert_nothing(Scores):
    Scores.insert([])
    Scores.insert(pd.DataFrame({"id": [], "value": []}))
    assert len(Scores) == 0


# -- insert_dataframe ------------------------------------------------------------------------

def test_insert_dataframe_uses_an_index_named_as_the_key(Scores):
    frame = pd.DataFrame({"value": ["a", "b"], "score": [1.0, 2.0]},
                         index=pd.Index([1, 2], name="id"))
    Scores.insert_dataframe(frame)
    Scores.insert_dataframe(frame.rename(index={1: 3, 2: 4}), index_as_pk=True)
    assert [r["id"] for r in _rows(Scores)] == [1, 2, 3, 4]


def test_insert_dataframe_drops_another_index(Scores):
    Scores.insert_dataframe(pd.DataFrame({"id": [5, 6], "value": ["a", "b"]}))  # RangeIndex
    named = pd.DataFrame({"id": [7], "value": ["c"]}, index=pd.Index([0], name="row"))
    Scores.insert_dataframe(named)  # not the key: dropped, as DataJoint does
    keyed = pd.DataFrame({"id": [8], "value": ["d"]}, index=pd.Index([9], name="id"))
    Scores.insert_dataframe(keyed.rename_axis("n"), index_as_pk=False)
    assert [r["id"] for r in _rows(Scores)] == [5, 6, 7, 8]


def test_insert_dataframe_refuses_a_mismatched_index_or_other_rows(Scores):
    frame = pd.DataFrame({"value": ["a"]}, index=pd.Index([1], name="wrong"))
    with pytest.raises(DataTypeError, match="do not match the primary key"):
        Scores.insert_dataframe(frame, index_as_pk=True)
    with pytest.raises(DataTypeError, match="requires a pandas DataFrame"):
        Scores.insert_dataframe([{"id": 1, "value": "a"}])
    assert len(Scores) == 0


def test_to_pandas_then_insert_dataframe_restores_the_rows(Scores):
    Scores.insert([{"id": i, "value": f"v{i}", "score": None if i % 3 else i / 4}
                   for i in range(40)])
    before = _rows(Scores)
    frame = Scores.to_pandas()
    Scores.delete_quick()
    Scores.insert_dataframe(frame, chunk_size=7)
    assert _rows(Scores) == before


# -- polars and pyarrow frames ---------------------------------------------------------------

def test_polars_and_arrow_frames_insert_with_the_options(Scores):
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    Scores.insert(pl.DataFrame({"id": [1, 2], "value": ["a", "b"], "score": [0.5, None]}))
    Scores.insert(pa.table({"id": [2, 3], "value": ["x", "c"], "score": [9.0, 3.0]}),
                  skip_duplicates=True)
    Scores.insert(pa.table({"id": list(range(4, 30)), "value": ["n"] * 26}).to_batches()[0],
                  chunk_size=10)
    rows = _rows(Scores)
    assert len(rows) == 29
    assert Scores.validate(pl.DataFrame({"id": [50], "value": ["ok"]}))
    checked = Scores.validate(pa.table({"id": [51, 52], "value": ["ok", "x" * 41]}))
    assert not checked and [e[:2] for e in checked.errors] == [(1, "value")]
    assert rows[:3] == [{"id": 1, "value": "a", "score": 0.5},
                        {"id": 2, "value": "b", "score": None},
                        {"id": 3, "value": "c", "score": 3.0}]


def test_to_polars_and_to_arrow_insert_back(Scores):
    pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    Scores.insert([{"id": i, "value": f"v{i}", "score": float(i)} for i in range(3)])
    before = _rows(Scores)
    for frame in (Scores.to_polars(), Scores.to_arrow()):
        Scores.delete_quick()
        Scores.insert(frame)
        assert _rows(Scores) == before


ROWS = st.lists(
    st.tuples(st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=12),
              st.none() | st.floats(-1e6, 1e6, allow_nan=False)),
    min_size=1, max_size=8)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=ROWS, source=st.sampled_from(["dicts", "pandas", "polars", "arrow", "records"]))
def test_every_row_source_inserts_the_same_rows(Scores, values, source):
    pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    import polars as pl
    import pyarrow as pa

    dicts = [{"id": i, "value": text, "score": score} for i, (text, score) in enumerate(values)]
    columns = {name: [row[name] for row in dicts] for name in ("id", "value", "score")}
    rows = {
        "dicts": lambda: dicts,
        "pandas": lambda: pd.DataFrame(columns),
        "polars": lambda: pl.DataFrame(columns, schema={"id": pl.Int32, "value": pl.Utf8,
                                                        "score": pl.Float64}),
        "arrow": lambda: pa.table(columns),
        "records": lambda: np.array([(r["id"], r["value"], np.nan if r["score"] is None
                                      else r["score"]) for r in dicts],
                                    dtype=[("id", "i4"), ("value", "O"), ("score", "f8")]),
    }[source]()
    Scores.delete_quick()
    Scores.insert(rows)
    assert _rows(Scores) == dicts


# -- DataJoint's words for what goes wrong ---------------------------------------------------

def test_positional_rows_warn_and_a_wrong_length_is_named(Scores):
    with pytest.warns(DeprecationWarning, match="Positional inserts are deprecated"):
        Scores.insert1((1, "a", 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = Scores.validate([(2, "b")])
        with pytest.raises(DataTypeError, match="Incorrect number of attributes in row 0"):
            Scores.insert([(2, "b")])
    assert not result.is_valid and "Incorrect number of attributes" in result.errors[0][2]
    assert [r["id"] for r in _rows(Scores)] == [1]


def test_insert_from_a_query_refuses_chunk_size_and_replace(Scores):
    Scores.insert1({"id": 1, "value": "a"})
    for option in ({"chunk_size": 10}, {"replace": True}):
        with pytest.raises(RestrictionError, match=f"{next(iter(option))} is not supported"):
            Scores.insert(Scores.proj("value"), **option)
    assert _rows(Scores) == [{"id": 1, "value": "a", "score": None}]
