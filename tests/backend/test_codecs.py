"""Codecs through real databases: <blob> round trips, custom codecs, chains, metadata."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError, DefinitionError


class Point(dj.Codec):
    """A custom codec: (x, y) tuples stored as JSON."""

    name = "test_point"

    def get_dtype(self, is_store: bool) -> str:
        return "json"

    def validate(self, value):
        if not (isinstance(value, tuple) and len(value) == 2):
            raise TypeError("a point is an (x, y) tuple")

    def encode(self, value, *, key=None, store_name=None):
        return {"x": value[0], "y": value[1]}

    def decode(self, stored, *, key=None):
        return (stored["x"], stored["y"])


class Labelled(dj.Codec):
    """A chained codec: stored through <blob>."""

    name = "test_labelled"

    def get_dtype(self, is_store: bool) -> str:
        return "<blob>"

    def encode(self, value, *, key=None, store_name=None):
        return {"label": value[0], "data": value[1]}

    def decode(self, stored, *, key=None):
        return (stored["label"], stored["data"])


@pytest.fixture
def Store(schema):
    @schema
    class Store(dj.Manual):
        definition = """
        id: int32
        ---
        value = null: <blob>      # any value
        point = null: <test_point>
        labelled = null: <test_labelled>
        """

    return Store


VALUES = [
    np.arange(12, dtype="int16").reshape(3, 4),
    np.random.default_rng(0).normal(size=(50, 7)),
    np.array([1.5, np.nan, -np.inf], dtype="float32"),
    np.array(["a", "βγ"]),
    np.zeros(3, dtype=[("t", "f8"), ("n", "i4", (2,))]),
    np.array([{"a": 1}, [1, 2]], dtype=object),
    {"nested": [1, 2.5, "x", None, (True, b"\x00\xff")], "set": {1, 2}},
    dt.datetime(2024, 2, 29, 12, 30, 1, 5), dt.date(2000, 1, 1),
    uuid.UUID("12345678-1234-5678-1234-567812345678"), decimal.Decimal("1.10"), 3 + 4j,
    "", "ünïcødé", b"", 2**80, np.float32(1.25),
]
# what <blob> gives back where it differs from what was written: DataJoint's format (written
# by default, read so by DataJoint too) keeps a unicode array as an array of str objects
READ_AS = {3: np.array(["a", "βγ"], dtype=object)}


def read_as(index: int) -> object:
    return READ_AS.get(index, VALUES[index])


def equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and (
            a.dtype.kind == "O" and all(equal(x, y) for x, y in zip(a.ravel(), b.ravel()))
            or a.dtype.kind != "O" and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    return type(a) is type(b) and a == b


def test_blob_round_trips_every_kind_of_value(Store):
    Store.insert([{"id": i, "value": v} for i, v in enumerate(VALUES)])
    fetched = {r["id"]: r["value"] for r in Store.to_dicts()}
    for i in range(len(VALUES)):
        assert equal(read_as(i), fetched[i]), (i, read_as(i), fetched[i])
    frame = Store.to_pandas()
    assert equal(VALUES[0], frame.loc[0, "value"])
    assert (Store & {"id": 1}).fetch1("value").shape == (50, 7)


def test_a_large_array_round_trips(Store):
    big = np.random.default_rng(1).normal(size=(256, 512))  # 1 MiB
    Store.insert1({"id": 1, "value": big})
    assert np.array_equal((Store & {"id": 1}).fetch1("value"), big)


def test_custom_and_chained_codecs(Store, conn):
    Store.insert1({"id": 1, "point": (1.5, -2), "labelled": ("speed", np.arange(3))})
    row = (Store & {"id": 1}).fetch1()
    assert row["point"] == (1.5, -2) and row["value"] is None
    assert row["labelled"][0] == "speed" and np.array_equal(row["labelled"][1], np.arange(3))
    with pytest.raises(DataTypeError, match="point"):
        Store.insert1({"id": 2, "point": [1, 2]})
    assert len(Store) == 1  # nothing half-written


def test_codec_types_are_kept_in_the_metadata(Store, schema):
    heading = Store.heading
    assert heading["value"].type.text == "<blob>" and heading["value"].codec == "blob"
    assert heading["point"].codec == "test_point"
    text = Store.describe()
    assert "value = null : <blob>  # any value" in text
    assert "<test_point>" in text and "<test_labelled>" in text
    Store.insert1({"id": 1, "value": np.zeros(3)})
    assert "<blob>" in repr(Store())  # previews show a badge, not the value


def test_unknown_codecs_and_bad_codec_definitions(schema):
    with pytest.raises(DefinitionError, match="unknown codec <nope>"):
        @schema
        class Bad(dj.Manual):
            definition = """
            id: int32
            ---
            x = null: <nope>
            """
    with pytest.raises(DefinitionError, match="exists already"):
        class Again(dj.Codec):
            name = "blob"
    assert {"blob", "test_point"} <= set(dj.list_codecs())
    assert dj.get_codec("test_point").decode({"x": 1, "y": 2}) == (1, 2)


def test_round_trip_law_holds_for_the_blob_codec():
    codec = dj.get_codec("blob")
    for i, value in enumerate(VALUES):
        assert equal(read_as(i), codec.decode(codec.encode(value)))
    assert json.loads(json.dumps(Point().encode((1, 2)))) == {"x": 1, "y": 2}


def test_nan_given_to_a_blob_is_stored_as_a_value_not_null(Store):
    # as in DataJoint: NaN means NULL for numeric columns only; a codec encodes it
    Store.insert1({"id": 1, "value": float("nan")})
    stored = (Store & {"id": 1}).fetch1("value")
    assert isinstance(stored, float) and stored != stored
