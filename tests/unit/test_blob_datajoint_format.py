"""``<blob>`` bytes: DataJoint's format written and read back, our older format still read.

The law: ``decode(encode(x))`` is what DataJoint's reader gives for ``x`` (``as_read`` below
states DataJoint's conversions: 0-d arrays become numpy scalars, unicode arrays object arrays,
...); values DataJoint's format cannot hold go to the ``djb`` format and come back exactly.
That DataJoint itself writes the same bytes and reads ours is tests/interop's part.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dj_jupyter.errors import DataJointError
from dj_jupyter.objects.codecs import blobformat, mympack
from dj_jupyter.objects.codecs.blob import BlobFormatError, decode, encode
from dj_jupyter.objects.codecs.mym import MatCell, MatStruct
from tests.interop.blob_values import catalog, difference

DATAJOINT_HEADERS = (b"mYm\x00", b"dj0\x00", b"ZL123\x00")


def as_read(value):
    """What DataJoint's reader gives back for ``value`` written in its format."""
    if isinstance(value, (MatCell, MatStruct)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            fields = [(name, as_read(np.asarray(value[name]))) for name in value.dtype.names]
            result = np.empty(value.shape, [(name, array.dtype) for name, array in fields])
            for name, array in fields:
                result[name] = array
            return result.view(np.recarray)
        if value.dtype.kind in "OU":
            result = np.empty(value.shape, object)
            for index in np.ndindex(value.shape):
                result[index] = as_read(value[index])
            return result
        return value[()] if value.ndim == 0 else value
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, np.bytes_):
        return bytes(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (set, frozenset)):
        return {as_read(item) for item in value}
    if isinstance(value, list):
        return [as_read(item) for item in value]
    if isinstance(value, tuple):
        return tuple(as_read(item) for item in value)
    if isinstance(value, dict):
        return {as_read(key): as_read(item) for key, item in value.items()}
    return value


def assert_round_trip(value):
    data = encode(value)
    assert data.startswith(DATAJOINT_HEADERS), data[:8]
    found = difference(decode(data), as_read(value))
    assert found is None, found


# ---------------------------------------------------------------- every value kind


@pytest.mark.parametrize("name", list(catalog(MatCell, MatStruct)))
def test_every_catalogued_kind_reads_back_as_datajoint_reads_it(name):
    value, expected = catalog(MatCell, MatStruct)[name]
    assert difference(decode(encode(value)), expected) is None
    assert difference(as_read(value), expected) is None  # as_read states the same rules


def test_mym_is_kept_for_what_matlab_reads_and_dj0_marks_the_rest():
    assert encode(np.arange(6.0).reshape(2, 3)).startswith(b"mYm\x00")
    assert encode(np.array([True, False])).startswith(b"mYm\x00")
    assert encode(np.empty((1, 2), object).view(MatCell)).startswith(b"mYm\x00") is False
    cell = np.empty(2, object)
    cell[:] = [np.arange(2.0), np.zeros((2, 2))]
    assert encode(cell.view(MatCell)).startswith(b"mYm\x00")
    for value in (1, np.float64(2.0), np.array(3.0), "x", [np.arange(2.0)],
                  np.array(["a"]), np.arange(2).astype("datetime64[s]")):
        assert encode(value).startswith(b"dj0\x00"), value


def test_arrays_keep_fortran_layout_and_come_back_read_only_as_in_datajoint():
    array = np.arange(24.0).reshape(2, 3, 4)
    data = encode(array)
    assert np.frombuffer(data, "<f8", 24, offset=len(data) - 192).tolist() == \
        array.ravel(order="F").tolist()
    back = decode(data)
    assert back.flags.f_contiguous and not back.flags.writeable  # a view of the bytes
    with pytest.raises(ValueError, match="read-only"):
        back[0, 0, 0] = -1.0
    copy = np.array(back)
    copy[0, 0, 0] = -1.0
    assert array[0, 0, 0] == 0.0 and back[0, 0, 0] == 0.0


# ---------------------------------------------------------------- hypothesis

def _object_array(items: list) -> np.ndarray:
    array = np.empty(len(items), object)
    for index, item in enumerate(items):
        array[index] = item
    return array


DATAJOINT_DTYPES = ["?", "i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8",
                    "<c8", "<c16", "<M8[s]", "<M8[us]", "<M8[D]"]

numeric_arrays = st.sampled_from(DATAJOINT_DTYPES).flatmap(
    lambda dtype: hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3,
                                                                 min_side=0, max_side=4)))
unicode_arrays = hnp.arrays(np.dtype("<U4"), hnp.array_shapes(min_dims=0, max_dims=2),
                            elements=st.text(st.characters(codec="utf-8",
                                                           exclude_characters="\x00"),
                                             max_size=4))
numpy_scalars = numeric_arrays.filter(lambda a: a.size > 0).map(lambda a: a.ravel()[0])
naive_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 1))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(),
    st.text(st.characters(codec="utf-8")), st.binary(), st.uuids(),
    st.decimals(allow_nan=False), naive_datetimes, naive_datetimes.map(lambda d: d.date()),
    st.times(), numpy_scalars,
)
hashable = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                     st.binary(max_size=5), st.uuids())
values = st.recursive(
    st.one_of(scalars, numeric_arrays, unicode_arrays),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.sets(hashable, max_size=4), st.frozensets(hashable, max_size=4),
        st.dictionaries(hashable, inner, max_size=4),
        st.lists(inner, min_size=1, max_size=4).map(_object_array),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_hypothesis_every_kind_round_trips_as_datajoint_reads_it(value):
    assert_round_trip(value)


def _record_elements(dtype: np.dtype):
    parts = []
    for name in dtype.names:
        kind = dtype[name].kind
        if kind == "O":
            parts.append(st.integers(-5, 5))
        elif kind == "U":
            parts.append(st.text("abcé", max_size=3))
        else:
            parts.append(hnp.from_dtype(dtype[name]))
    return st.tuples(*parts)


record_dtypes = st.lists(
    st.tuples(st.sampled_from(DATAJOINT_DTYPES + ["<U3", "O"])), min_size=1, max_size=4,
).map(lambda fields: np.dtype([(f"f{i}", dtype) for i, (dtype,) in enumerate(fields)]))


@settings(max_examples=100, deadline=None)
@given(record_dtypes.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(max_dims=2),
                                                      elements=_record_elements(dtype))))
def test_hypothesis_structured_arrays_round_trip_as_record_arrays(value):
    assert_round_trip(value)


# ---------------------------------------------------------------- djb: what DataJoint cannot hold

DJB_ONLY = [
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    dt.time(1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.timedelta(days=2, seconds=5), np.arange(4, dtype=np.float16), np.arange(3, dtype=">i4"),
    np.array([b"ab", b"c"]), np.arange(3).astype("timedelta64[s]"),
    np.zeros(2, [("a", "<f8", (3,))]), "lone \ud800 surrogate", 2 ** (8 * 70_000),
    [1, dt.timedelta(1)], np.longdouble(1.5),
]


@pytest.mark.parametrize("value", DJB_ONLY, ids=lambda v: type(v).__name__)
def test_values_datajoints_format_cannot_hold_go_to_djb_and_come_back_exactly(value):
    with pytest.raises(mympack.NotDataJoint):
        mympack.pack(value)
    data = encode(value)
    assert data.startswith(blobformat.MAGIC)
    assert _same_exactly(decode(data), value)


def _same_exactly(a, b) -> bool:
    if isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(b, list):
        return len(a) == len(b) and all(_same_exactly(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_blobs_of_our_earlier_format_are_still_read():
    value = {"a": np.array(["x", "y"]), "b": frozenset({1}), "c": np.float32(2.5)}
    back = decode(blobformat.encode(value))
    assert back["b"] == frozenset({1}) and type(back["c"]) is np.float32
    assert back["a"].dtype == np.dtype("<U1")


def test_types_neither_format_holds_are_refused_with_a_hint():
    with pytest.raises(TypeError, match="cannot store a value of type .*Thing"):
        encode(type("Thing", (), {})())
    with pytest.raises(TypeError, match="arr.filled"):
        encode(np.ma.masked_array([1, 2], mask=[0, 1]))


def test_cycles_are_refused():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="reference cycle"):
        encode(cycle)


# ---------------------------------------------------------------- compression


def test_large_compressible_blobs_are_compressed_as_datajoint_compresses_them():
    value = np.zeros(10_000)
    plain = mympack.pack(value, compress=False)
    data = encode(value)
    assert data == b"ZL123\x00" + struct.pack("<Q", len(plain)) + zlib.compress(plain)
    assert np.array_equal(decode(data), value)


def test_incompressible_blobs_skip_compression():
    value = np.random.default_rng(0).random(100_000)
    assert encode(value) == mympack.pack(value, compress=False)


def test_small_blobs_are_never_compressed():
    value = [0] * 40  # 1000 bytes or less
    assert encode(value).startswith(b"dj0\x00")


# ---------------------------------------------------------------- bad bytes


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"abcdefgh", "unknown format header b'abcd'.*upgrade dj_jupyter"),
    (b"dj0\x00Q", "unknown value code b'Q'.*upgrade dj_jupyter"),
    (b"mYm\x00A" + struct.pack("<QQII", 1, 3, 1, 0), r"type id 1 \(cell\) cannot be read"),
    (b"mYm\x00A" + struct.pack("<QQII", 1, 3, 6, 0) + b"\x00" * 8, "truncated"),
    (b"dj0\x00\x05" + struct.pack("<Q", 99) + b"abc", "truncated"),
    (b"dj0\x00\x0b\x01\x00", "unexpected byte"),
    (b"dj0\x00\x02" + struct.pack("<QQ", 1, 5) + b"\xff", "claims 5 bytes"),
    (b"dj0\x00t" + struct.pack("<iq", 20241332, -1), "bad date"),
    (b"dj0\x00P", "sparse.*full"),
    (b"ZL123\x00" + struct.pack("<Q", 10) + zlib.compress(b"dj0\x00\xff"), "match its size"),
    (b"ZL123\x00" + struct.pack("<Q", 5) + b"garbage", "does not inflate"),
    (b"ZL123\x00" + struct.pack("<Q", 5) + zlib.compress(b"xyz\x00\xff"), "neither mYm nor dj0"),
])
def test_bad_bytes_raise_a_datajoint_error_naming_the_fix(data, message):
    with pytest.raises(BlobFormatError, match=message) as raised:
        decode(data)
    assert isinstance(raised.value, DataJointError)


def test_every_truncation_of_a_datajoint_blob_is_refused():
    value = {"a": [1, "x", np.arange(6.0).reshape(2, 3)], "b": uuid.UUID(int=5),
             "c": decimal.Decimal("1.5"), "d": dt.datetime(2020, 1, 2), "e": MatCell((1,), object)}
    data = encode(value)
    for end in range(len(data)):
        with pytest.raises(BlobFormatError):
            decode(data[:end])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_datajoint_blobs_never_crash(data):
    value = data.draw(values)
    blob = bytearray(encode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode(bytes(blob))
    except BlobFormatError:
        pass
