"""Type round trips with edge values: the same Python values come back on every backend."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError


@pytest.fixture
def Ints(schema):
    @schema
    class Ints(dj.Manual):
        definition = """
        id: int32
        ---
        i8: int8
        i16: int16
        i32: int32
        i64: int64
        """

    return Ints


LIMITS = {"i8": 2**7, "i16": 2**15, "i32": 2**31, "i64": 2**63}


def test_integer_limits_round_trip(Ints):
    low = {"id": 1, **{k: -v for k, v in LIMITS.items()}}
    high = {"id": 2, **{k: v - 1 for k, v in LIMITS.items()}}
    Ints.insert([low, high])
    assert Ints.to_dicts(order_by="id") == [low, high]
    assert all(type(v) is int for v in Ints.to_dicts()[0].values())


@pytest.mark.parametrize("attribute", sorted(LIMITS))
@pytest.mark.parametrize("sign", [-1, 1])
def test_integer_out_of_range_is_refused(Ints, attribute, sign):
    row = {"id": 1, **{k: 0 for k in LIMITS}}
    row[attribute] = LIMITS[attribute] if sign > 0 else -LIMITS[attribute] - 1
    with pytest.raises(DataTypeError, match=attribute):
        Ints.insert1(row)
    assert len(Ints) == 0


@pytest.fixture
def Numbers(schema):
    @schema
    class Numbers(dj.Manual):
        definition = """
        id: int32
        ---
        f32 = null: float32
        f64 = null: float64
        flag = null: bool
        money = null: decimal(6,2)
        """

    return Numbers


def test_floats_bools_decimals_round_trip(Numbers):
    Numbers.insert([
        {"id": 1, "f32": 0.1, "f64": 0.1, "flag": True, "money": decimal.Decimal("1234.5")},
        {"id": 2, "f32": -3.4e38, "f64": 1e-300, "flag": False, "money": "-0.015"},
        {"id": 3, "f32": np.float32(2.5), "f64": np.float64(7), "flag": np.bool_(True),
         "money": 3},
    ])
    rows = Numbers.to_dicts(order_by="id")
    assert rows[0] == {"id": 1, "f32": 0.1, "f64": 0.1, "flag": True,  # float32's shortest repr
                       "money": decimal.Decimal("1234.50")}
    assert rows[1]["f32"] == -3.4e38
    assert rows[1]["f64"] == 1e-300
    assert rows[1]["money"] == decimal.Decimal("-0.02")  # half-up rounding to the scale
    assert rows[2] == {"id": 3, "f32": 2.5, "f64": 7.0, "flag": True,
                       "money": decimal.Decimal("3.00")}
    assert [type(r["flag"]) for r in rows] == [bool, bool, bool]
    assert all(isinstance(r["money"], decimal.Decimal) for r in rows)
    assert str(rows[2]["money"]) == "3.00"
    # the same values restrict on every backend
    assert (Numbers & {"flag": True}).keys(order_by="id") == [{"id": 1}, {"id": 3}]
    assert (Numbers & {"flag": False}).keys() == [{"id": 2}]
    assert (Numbers & {"money": "3"}).keys() == [{"id": 3}]
    assert (Numbers & {"money": decimal.Decimal("1234.50")}).keys() == [{"id": 1}]
    assert (Numbers & {"f64": 1e-300}).keys() == [{"id": 2}]


def test_nan_is_stored_as_null(Numbers):
    Numbers.insert1({"id": 1, "f64": float("nan"), "f32": np.nan})
    assert Numbers.fetch1() == {"id": 1, "f32": None, "f64": None, "flag": None, "money": None}
    assert len(Numbers & "f64 IS NULL") == 1
    assert math.isnan(Numbers.to_pandas()["f64"].iloc[0])
    assert math.isnan(Numbers.to_arrays("f64")[0])
    assert math.isnan(Numbers.to_arrays()["f64"][0])


@pytest.mark.parametrize("row", [
    {"f64": float("inf")}, {"f64": -float("inf")}, {"f32": np.inf},
    {"money": decimal.Decimal("10000")}, {"money": "abc"}, {"flag": 2}, {"f64": "1.5 mm"},
])
def test_bad_numbers_are_refused(Numbers, row):
    name = next(iter(row))
    with pytest.raises(DataTypeError, match=name):
        Numbers.insert([{"id": 1, name: None}, {"id": 2, **row}])
    assert len(Numbers) == 0


@pytest.fixture
def Texts(schema):
    @schema
    class Texts(dj.Manual):
        definition = """
        id: int32
        ---
        code = null: char(4)
        name = null: varchar(8)
        kind = null: enum('alpha', 'beta')
        """

    return Texts


def test_strings_round_trip(Texts):
    rows = [
        {"id": 1, "code": "ab", "name": "", "kind": "alpha"},
        {"id": 2, "code": "abcd", "name": "😀漢字ü", "kind": "beta"},
        {"id": 3, "code": "a b", "name": "12345678", "kind": None},
    ]
    Texts.insert(rows)
    assert Texts.to_dicts(order_by="id") == rows


@pytest.mark.parametrize("row", [
    {"name": "123456789"}, {"code": "abcde"}, {"kind": "gamma"}, {"name": True},
    {"name": "nul\x00byte"},
])
def test_bad_strings_are_refused(Texts, row):
    name = next(iter(row))
    with pytest.raises(DataTypeError, match=name):
        Texts.insert([{"id": 1, name: None}, {"id": 2, **row}])
    assert len(Texts) == 0


def test_case_sensitive_primary_keys(schema):
    @schema
    class Letter(dj.Manual):
        definition = """
        letter: varchar(4)
        """

    Letter.insert([{"letter": "a"}, {"letter": "A"}])
    assert sorted(r["letter"] for r in Letter.to_dicts()) == ["A", "a"]
    assert (Letter & {"letter": "A"}).keys() == [{"letter": "A"}]
    with pytest.raises(dj.DuplicateError):
        Letter.insert1({"letter": "a"})


@pytest.fixture
def Times(schema):
    @schema
    class Times(dj.Manual):
        definition = """
        id: int32
        ---
        day = null: date
        t0 = null: datetime
        t3 = null: datetime(3)
        t6 = null: datetime(6)
        """

    return Times


def test_dates_and_datetimes_round_trip(Times):
    moment = dt.datetime(2024, 2, 29, 23, 59, 59, 999_600)
    Times.insert1({"id": 1, "day": dt.date(1900, 1, 1), "t0": moment, "t3": moment, "t6": moment})
    row = Times.fetch1()
    assert row["day"] == dt.date(1900, 1, 1)
    assert row["t0"] == dt.datetime(2024, 3, 1, 0, 0, 0)
    assert row["t3"] == dt.datetime(2024, 3, 1, 0, 0, 0)
    assert row["t6"] == moment
    assert Times & {"t6": moment}


def test_datetime_rounding_and_timezones(Times):
    aware = dt.datetime(2024, 6, 1, 12, 0, 0, 123_456,
                        tzinfo=dt.timezone(dt.timedelta(hours=2)))
    Times.insert([
        {"id": 1, "t0": "2024-01-01 10:00:00.4", "t3": aware, "t6": aware, "day": "2024-01-02"},
        {"id": 2, "t0": np.datetime64("2024-01-01T10:00:00.5"), "t3": dt.date(2020, 5, 6),
         "t6": None, "day": dt.datetime(2020, 5, 6, 7, 8)},
    ])
    first, second = Times.to_dicts(order_by="id")
    assert first["t0"] == dt.datetime(2024, 1, 1, 10, 0, 0)
    assert first["t3"] == dt.datetime(2024, 6, 1, 10, 0, 0, 123_000)
    assert first["t6"] == dt.datetime(2024, 6, 1, 10, 0, 0, 123_456)
    assert first["t3"].tzinfo is None
    assert first["day"] == dt.date(2024, 1, 2)
    assert second["t0"] == dt.datetime(2024, 1, 1, 10, 0, 1)
    assert second["t3"] == dt.datetime(2020, 5, 6)
    assert second["t6"] is None
    assert second["day"] == dt.date(2020, 5, 6)
    assert (Times & {"day": dt.date(2020, 5, 6)}).keys() == [{"id": 2}]
    assert (Times & {"t3": dt.datetime(2020, 5, 6)}).keys() == [{"id": 2}]
    with pytest.raises(DataTypeError, match="t3"):
        Times.insert1({"id": 3, "t3": "not a time"})


@pytest.fixture
def Blobs(schema):
    @schema
    class Blobs(dj.Manual):
        definition = """
        id: int32
        ---
        meta = null: json
        token = null: uuid
        raw = null: bytes
        """

    return Blobs


def test_json_uuid_bytes_round_trip(Blobs):
    token = uuid.uuid4()
    text_token = uuid.uuid4()
    rows = [
        {"id": 1, "meta": {"a": [1, 2.5, None, True], "b": {"c": "漢字😀"}}, "token": token,
         "raw": b"\x00\x01\x00\xff"},
        {"id": 2, "meta": [1, "two", {"three": 3}], "token": str(text_token), "raw": b""},
        {"id": 3, "meta": "just a string", "token": None, "raw": None},
    ]
    Blobs.insert(rows)
    back = Blobs.to_dicts(order_by="id")
    assert back[0] == rows[0]
    assert back[1] == {**rows[1], "token": text_token}
    assert isinstance(back[1]["token"], uuid.UUID)
    assert back[1]["raw"] == b"" and isinstance(back[1]["raw"], bytes)
    assert back[2] == rows[2]
    assert (Blobs & {"token": str(token)}).keys() == [{"id": 1}]
    assert (Blobs & {"token": token}).keys() == [{"id": 1}]


@pytest.mark.parametrize("row", [
    {"meta": {1, 2}}, {"meta": {"x": float("nan")}}, {"token": "not-a-uuid"}, {"raw": "text"},
])
def test_bad_json_uuid_bytes_are_refused(Blobs, row):
    name = next(iter(row))
    with pytest.raises(DataTypeError, match=name):
        Blobs.insert([{"id": 1, name: None}, {"id": 2, **row}])
    assert len(Blobs) == 0


def test_null_defaults(schema):
    @schema
    class Opt(dj.Manual):
        definition = """
        id: int32
        ---
        a = null: int32
        b = 5: int32
        c = null: varchar(8)
        """

    Opt.insert([{"id": 1}, ])
    Opt.insert1({"id": 2, "a": None, "b": None, "c": None})
    assert Opt.to_dicts(order_by="id") == [
        {"id": 1, "a": None, "b": 5, "c": None}, {"id": 2, "a": None, "b": 5, "c": None}]
    assert (Opt & {"a": None}).keys(order_by="id") == [{"id": 1}, {"id": 2}]
    assert len(Opt & {"c": None, "b": 5}) == 2


def test_trailing_spaces_are_significant(schema):

    @schema
    class Word(dj.Manual):
        definition = """
        word: varchar(8)
        ---
        note = null: varchar(8)
        """

    Word.insert([{"word": "a"}, {"word": "a "}, {"word": "b", "note": "x  "}])
    assert Word.to_dicts(order_by="word") == [
        {"word": "a", "note": None}, {"word": "a ", "note": None}, {"word": "b", "note": "x  "}]
    assert len(Word & {"note": "x"}) == 0
    assert len(Word & {"word": "b "}) == 0


def test_frame_and_array_dtypes(schema):
    @schema
    class Mixed(dj.Manual):
        definition = """
        id: int32
        ---
        a = null: int32
        b = null: bool
        c: bool
        d = null: decimal(5,2)
        t = null: datetime(3)
        """

    Mixed.insert([{"id": 1, "c": True, "t": dt.datetime(2020, 1, 1)},
                  {"id": 2, "a": 3, "b": False, "c": False, "d": 1}])
    frame = Mixed.to_pandas()
    assert dict(frame.dtypes.astype(str)) == {
        "a": "float64", "b": "object", "c": "bool", "d": "object", "t": "datetime64[us]"}
    records = Mixed.to_arrays(order_by="id")
    assert [records.dtype[n].kind for n in records.dtype.names] == ["i", "O", "O", "b", "O", "O"]
    assert records.tolist() == [
        (1, None, None, True, None, dt.datetime(2020, 1, 1)),
        (2, 3, False, False, decimal.Decimal("1.00"), None)]
