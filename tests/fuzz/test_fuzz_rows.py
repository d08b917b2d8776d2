"""Fuzzed rows: inserted, updated and read back on every backend.

A row either comes back exactly as the reference model says it is stored, or the insert
raises a DataJointError and no row and no object was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from tests.fuzz.support import FUZZ, MODEL, WILD, Refused, expected, judge, same, values_for

ATTRIBUTES = list(MODEL)


@pytest.fixture
def store_folder(tmp_path: Path):
    spec = {"protocol": "file", "location": str(tmp_path / "objects")}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        yield tmp_path / "objects"


@pytest.fixture
def Row(schema, store_folder):
    lines = "\n".join(f"{name} = null : {declared}" for name, (declared, _) in MODEL.items())

    @schema
    class Row(dj.Manual):
        definition = f"""
        id: int32
        ---
        {lines}
        arr = null : <npy@>
        """

    return Row


def object_count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


KEYS = st.integers(0, 5) | st.sampled_from([None, -(2**31) - 1, 2**40, 1.5, "3", float("nan")])
ARRAYS = st.sampled_from([
    None, np.arange(3.0), np.zeros((2, 2), dtype="int16"),
    np.ma.masked_array([1, 2], mask=[0, 1]), "not an array", np.array(["a", "b"]),
])
VALUE_ROWS = st.fixed_dictionaries(
    {"id": KEYS}, optional={**{name: values_for(name) for name in ATTRIBUTES}, "arr": ARRAYS})
ROWS = st.one_of(
    st.lists(VALUE_ROWS, min_size=1, max_size=3),
    st.lists(VALUE_ROWS | WILD, min_size=1, max_size=3),  # rows that are not dicts
    WILD,  # not rows at all
)


def expected_row(row: dict) -> dict:
    """The stored row the model predicts (raises Refused when it cannot be stored)."""
    if not isinstance(row, dict):
        raise Refused
    want = {"id": expected_key(row.get("id"))}
    for name in ATTRIBUTES:
        want[name] = expected(name, row.get(name))
    return want


def expected_key(value: Any) -> int:
    if value is None or isinstance(value, float) and value != value:
        raise Refused
    key = MODEL["i64"][1](value)
    if not -(2**31) <= key < 2**31:
        raise Refused
    return key


def check_stored(Row, rows: Any) -> None:
    """After a successful insert: every row is stored as the model says."""
    wanted = [expected_row(r) for r in rows] if isinstance(rows, list) else None
    assert wanted is not None, f"insert of a {type(rows).__name__} succeeded"
    stored = {r["id"]: r for r in Row.to_dicts()}
    assert len(stored) == len(wanted)
    for want, row in zip(wanted, rows):
        got = stored[want["id"]]
        for name in ATTRIBUTES:
            assert same(name, got[name], want[name]), (name, row.get(name), got[name], want[name])
        if row.get("arr") is not None:
            np.testing.assert_array_equal(got["arr"], row["arr"])
            assert got["arr"].dtype == row["arr"].dtype


@FUZZ
@given(rows=ROWS)
def test_rows_are_stored_right_or_refused(Row, store_folder, backend, rows):
    def succeed(_):
        try:
            check_stored(Row, rows)
        except Refused:
            raise AssertionError(f"stored rows the model refuses: {rows!r:.300}") from None

    try:
        judge(backend, "rows", lambda: Row.insert(rows), on_success=succeed,
              counts=lambda: (len(Row), object_count(store_folder)))
    finally:
        Row.delete()


@FUZZ
@given(data=st.data())
def test_update1_stores_right_or_refuses(Row, backend, data):
    attribute = data.draw(st.sampled_from(ATTRIBUTES))
    value = data.draw(values_for(attribute))
    Row.insert1({"id": 1})

    def unchanged() -> tuple:
        return tuple(sorted((k, repr(v)) for k, v in (Row & {"id": 1}).fetch1().items()))

    def succeed(_):
        try:
            want = expected(attribute, value)
        except Refused:
            raise AssertionError(f"update1 stored {value!r:.200} which the model refuses") \
                from None
        got = (Row & {"id": 1}).fetch1(attribute)
        assert same(attribute, got, want), (attribute, value, got, want)

    try:
        judge(backend, "update1", lambda: Row.update1({"id": 1, attribute: value}),
              on_success=succeed, counts=unchanged)
    finally:
        Row.delete()
