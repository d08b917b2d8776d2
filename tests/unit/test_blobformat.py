"""The djb blob format: round trips, compression, refusal of garbage (never code execution)."""

from __future__ import annotations

import builtins
import collections
import datetime as dt
import decimal
import enum
import json
import math
import struct
import uuid
import zoneinfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dj_jupyter.objects.codecs import blobformat
from dj_jupyter.objects.codecs.blobformat import DECODERS, MAGIC, BlobFormatError, decode, encode

# ---------------------------------------------------------------- helpers


def _padded(dtype: np.dtype) -> bool:
    """Extended precision (x86 80-bit in 12/16 bytes) has padding numpy leaves uninitialised."""
    return dtype.char in "gG" and dtype.itemsize > 10 * (2 if dtype.char == "G" else 1)


def assert_same(a, b):
    """``b`` is ``a`` rebuilt: same type, same value (nan-aware, -0.0-aware), recursively."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
        if a.dtype.kind in "biufc":
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        if not a.dtype.hasobject and not _padded(a.dtype):
            assert np.ascontiguousarray(a).tobytes() == b.tobytes()
        elif a.dtype.fields is None:
            for x, y in zip(a.ravel(), b.ravel()):
                assert_same(x, y)
        else:
            for name in a.dtype.names:
                assert_same(a[name], b[name])
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype
        if a.dtype.hasobject:  # a structured scalar holding objects
            assert_same(np.asarray(a), np.asarray(b))
        elif _padded(a.dtype):  # compare values: padding bytes are left uninitialised
            assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        else:
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b)
    elif isinstance(a, complex):
        assert struct.pack("<dd", a.real, a.imag) == struct.pack("<dd", b.real, b.imag)
    elif isinstance(a, decimal.Decimal):
        assert str(a) == str(b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)  # insertion order kept
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert_same(ka, kb)
            assert_same(va, vb)
    elif isinstance(a, (dt.datetime, dt.time)):
        assert a == b and a.fold == b.fold
        assert a.utcoffset() == b.utcoffset() and a.tzname() == b.tzname()
        assert (a.tzinfo is None) == (b.tzinfo is None)
        if isinstance(a, dt.datetime):
            assert a.replace(tzinfo=None) == b.replace(tzinfo=None)
    else:
        assert a == b


def roundtrip(value):
    blob = encode(value)
    assert isinstance(blob, bytes) and blob[:4] == MAGIC
    result = decode(blob)
    assert_same(value, result)
    return result


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def blob_with_array(description, dims=(1,), data=b"\0" * 8) -> bytes:
    text = json.dumps(description).encode()
    return (MAGIC + b"\x00a" + varint(len(text)) + text + varint(len(dims))
            + b"".join(map(varint, dims)) + data)


# ---------------------------------------------------------------- round trips: Python values

UTC5 = dt.timezone(dt.timedelta(hours=5))
ODD = dt.timezone(dt.timedelta(hours=-3, minutes=-30, seconds=-7, microseconds=-11))

PYTHON_VALUES = {
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "small int": 127,
    "int 128": 128,
    "negative int": -129,
    "int64 max": 2**63 - 1,
    "huge int": 3**500,
    "huge negative int": -(7**300),
    "float": 1.5,
    "nan": math.nan,
    "negative nan": -math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "-0.0": -0.0,
    "tiny float": 5e-324,
    "complex": complex(1.5, -2.0),
    "complex nan": complex(math.nan, -0.0),
    "str": "hello",
    "empty str": "",
    "unicode": "héllo wörld ✓ 日本語 🎉",
    "lone surrogate": "a\ud800b",
    "bytes": b"\x00\xffabc",
    "empty bytes": b"",
    "list": [1, "a", None, [2.5, [b"x"]]],
    "empty list": [],
    "tuple": (1, (2, (3,)), []),
    "empty tuple": (),
    "set": {1, "a", (1, 2), frozenset({3})},
    "empty set": set(),
    "frozenset": frozenset({1.5, "b", None}),
    "dict": {"b": 1, "a": [1, 2], 3: {"x": None}, (1, "t"): b"v", None: 0, 2.5: 1j},
    "empty dict": {},
    "naive datetime": dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
    "datetime fold": dt.datetime(2021, 11, 7, 1, 30, fold=1),
    "utc datetime": dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone.utc),
    "offset datetime": dt.datetime(1, 1, 1, tzinfo=UTC5),
    "odd offset datetime": dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=ODD),
    "named timezone": dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1), "CET")),
    "date": dt.date(2024, 2, 29),
    "date min": dt.date.min,
    "time": dt.time(23, 59, 59, 999999),
    "time with offset": dt.time(1, 2, 3, tzinfo=UTC5),
    "timedelta": dt.timedelta(days=-3, seconds=5, microseconds=7),
    "timedelta max": dt.timedelta.max,
    "timedelta min": dt.timedelta.min,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": decimal.Decimal("1.50"),
    "decimal exponent": decimal.Decimal("-1.23E+400"),
    "decimal nan": decimal.Decimal("NaN"),
    "decimal snan": decimal.Decimal("-sNaN42"),
    "decimal inf": decimal.Decimal("-Infinity"),
    "decimal -0": decimal.Decimal("-0.000"),
    "nested everything": {
        "when": [dt.date(2020, 1, 1), dt.time(0), dt.timedelta(0)],
        "ids": {uuid.UUID(int=1), uuid.UUID(int=2)},
        "array": np.arange(4.0),
        "scalars": (np.int16(-3), np.float32(0.5)),
        "deep": [[[[[[[[[[[]]]]]]]]]]],
    },
}


@pytest.mark.parametrize("value", PYTHON_VALUES.values(), ids=PYTHON_VALUES.keys())
def test_python_values_roundtrip(value):
    roundtrip(value)


def test_bytes_like_values_decode_as_bytes():
    assert decode(encode(bytearray(b"abc"))) == b"abc"
    assert type(decode(encode(bytearray(b"abc")))) is bytes
    assert decode(encode(memoryview(b"xyz"))) == b"xyz"
    assert decode(encode(memoryview(np.arange(3, dtype="<u2")))) == b"\0\0\1\0\2\0"


def test_subclasses_of_builtins_decode_as_the_base_type():
    class Color(enum.IntEnum):
        RED = 3

    Point = collections.namedtuple("Point", "x y")
    cases = [
        (Color.RED, 3, int),
        (Point(1, 2), (1, 2), tuple),
        (collections.OrderedDict(a=1, b=2), {"a": 1, "b": 2}, dict),
        (collections.defaultdict(list, a=[1]), {"a": [1]}, dict),
    ]
    for value, expected, kind in cases:
        result = decode(encode(value))
        assert type(result) is kind and result == expected


def test_zoneinfo_datetime_keeps_instant_offset_and_abbreviation():
    value = dt.datetime(2021, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    result = decode(encode(value))
    assert result == value
    assert result.utcoffset() == dt.timedelta(hours=2) and result.tzname() == "CEST"
    assert isinstance(result.tzinfo, dt.timezone)


def test_utc_comes_back_as_the_utc_singleton():
    assert decode(encode(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))).tzinfo \
        is dt.timezone.utc


def test_dict_keeps_insertion_order():
    value = {k: i for i, k in enumerate("zyxwvutsrq")}
    assert list(decode(encode(value))) == list("zyxwvutsrq")


def test_equal_sets_encode_to_equal_bytes():
    a = {"apple", "banana", "cherry", 1, 2.5, (1, 2)}
    b = set(reversed(list(a)))
    assert encode(a) == encode(b)
    assert encode(frozenset(a)) == encode(frozenset(b))


def test_encoding_is_compact():
    assert len(encode(None)) == 6
    assert len(encode(5)) == 8  # header, tag, length, one byte
    assert len(encode(1.0)) == 14


# ---------------------------------------------------------------- round trips: numpy

ALL_DTYPES = [
    "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "g",
    "c8", "c16", "G", "M8[ns]", "M8[D]", "M8[Y]", "M8[10ms]", "m8[us]", "m8[W]", "m8",
    "S1", "S7", "U1", "U5", "V3", ">i4", ">f8", ">c8", ">U3", ">M8[s]", "<u2",
]


def sample_array(dtype: np.dtype, shape) -> np.ndarray:
    count = int(np.prod(shape))
    rng = np.random.default_rng(7)
    if dtype.kind == "U":  # only valid code points
        codes = rng.integers(0, 0x110000, size=count * dtype.itemsize // 4, dtype=np.uint32)
        raw = codes.astype(np.dtype("u4").newbyteorder(dtype.byteorder)).tobytes()
    else:
        raw = rng.integers(0, 256, size=count * dtype.itemsize, dtype=np.uint8).tobytes()
    array = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape).copy()
    for name in dtype.names or ():  # random bytes are not valid text: fill text fields
        field = dtype.fields[name][0]
        if field.kind == "U" or (field.subdtype and field.subdtype[0].kind == "U"):
            array[name] = "tëxt"
        elif field.names:
            array[name] = sample_array(field, shape)
    return array


@pytest.mark.parametrize("code", ALL_DTYPES)
def test_numpy_scalars_keep_their_type(code):
    dtype = np.dtype(code)
    for value in sample_array(dtype, (4,)):
        result = roundtrip(value)
        assert isinstance(result, np.generic)


def test_numpy_scalar_examples():
    assert type(decode(encode(np.float32(1.5)))) is np.float32
    assert decode(encode(np.float32(1.5))) == np.float32(1.5)
    for value in [np.bool_(True), np.int64(-(2**63)), np.uint64(2**64 - 1), np.float16(-0.0),
                  np.float64(math.nan), np.complex64(1 - 2j), np.datetime64("NaT", "ns"),
                  np.timedelta64(5, "h"), np.str_("ü"), np.bytes_(b"\0x"), np.void(b"\1\2")]:
        roundtrip(value)
    structured = np.zeros(1, dtype=[("a", "i2"), ("b", "f4", (2,))])[0]
    assert type(roundtrip(structured)) is np.void


@pytest.mark.parametrize("code", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (0, 4), (2, 0, 3), (1, 2, 1, 3)],
                         ids=str)
def test_arrays_of_every_dtype_and_shape(code, shape):
    roundtrip(sample_array(np.dtype(code), shape))


def test_array_examples():
    roundtrip(np.array([1.0, np.nan, -np.inf, -0.0]))
    roundtrip(np.array([True, False]))
    roundtrip(np.array(["a", "ünïcode", ""]))
    roundtrip(np.array([b"a", b"\0\0", b""]))
    roundtrip(np.array(["2020-01-01", "NaT"], dtype="M8[ms]"))
    roundtrip(np.arange(1000, dtype=">i8").reshape(10, 10, 10))
    roundtrip(np.array(7))
    roundtrip(np.empty((0, 0), dtype="U3"))


def test_fortran_order_and_views_come_back_equal():
    base = np.arange(60, dtype="f4").reshape(3, 4, 5)
    for value in [np.asfortranarray(base), base[:, ::2, 1:], base.T, base[::-1],
                  base[1], np.broadcast_to(np.arange(3), (4, 3)), base[..., 2]]:
        result = roundtrip(value)
        assert result.flags.c_contiguous and result.flags.writeable


def test_decoded_arrays_are_writeable_and_independent_of_the_input():
    data = bytearray(encode(np.arange(5)))
    result = decode(data)
    data[-8:] = b"\xff" * 8
    assert result.tolist() == [0, 1, 2, 3, 4]
    result[0] = 9  # writeable


def test_byte_order_is_kept():
    for code in [">i4", "<i4", ">f8", ">c16", ">U2", ">m8[s]"]:
        value = sample_array(np.dtype(code), (3,))
        result = roundtrip(value)
        assert result.dtype.str == np.dtype(code).str


def test_structured_arrays():
    nested = np.dtype([("id", "<i4"), ("pos", [("x", ">f8"), ("y", "f4", (2, 3))]),
                       ("name", "U5"), ("raw", "S2"), ("when", "M8[us]")])
    roundtrip(sample_array(nested, (4,)))
    roundtrip(sample_array(nested, ()))
    roundtrip(sample_array(nested, (0, 2)))
    aligned = np.dtype([("a", "u1"), ("b", "f8"), ("c", "u2")], align=True)
    result = roundtrip(sample_array(aligned, (3,)))
    assert result.dtype.isalignedstruct
    gapped = np.dtype({"names": ["a", "b"], "formats": ["i2", "f8"], "offsets": [8, 0],
                       "itemsize": 24, "titles": ["first", None]})
    result = roundtrip(sample_array(gapped, (2, 2)))
    assert result.dtype.fields["a"][1:] == (8, "first")
    roundtrip(np.zeros(3, dtype=[]))


def test_object_arrays_encode_their_elements():
    value = np.array([None, [1, 2], {"k": np.arange(3)}, "s", 1.5, np.float32(2)], dtype=object)
    roundtrip(value)
    roundtrip(value.reshape(2, 3))
    roundtrip(np.asfortranarray(value.reshape(2, 3)))
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.arange(3), np.arange(5.0)
    roundtrip(ragged)
    roundtrip(np.array(None, dtype=object))
    roundtrip(np.empty((0, 3), dtype=object))


def test_structured_arrays_with_object_fields():
    dtype = np.dtype([("n", "i4"), ("obj", "O"), ("sub", [("o", "O", (2,)), ("f", "f8")])])
    value = np.zeros(3, dtype=dtype)
    value["obj"] = [None, [1], "x"]
    value["sub"]["o"][1] = [{"a": 1}, (2,)]
    roundtrip(value)
    roundtrip(value[::2])
    assert type(roundtrip(value[1])) is np.void


def test_memmap_and_recarray_decode_as_ndarray(tmp_path):
    mm = np.memmap(tmp_path / "m.dat", dtype="f4", mode="w+", shape=(3, 2))
    mm[:] = 1.5
    result = decode(encode(mm))
    assert type(result) is np.ndarray and np.array_equal(result, mm)
    rec = np.rec.fromarrays([np.arange(3), np.ones(3)], names="a,b")
    result = decode(encode(rec))
    assert type(result) is np.ndarray and result.dtype.names == ("a", "b")
    assert result.tobytes() == rec.tobytes()


# ---------------------------------------------------------------- hypothesis

offsets = st.timedeltas(min_value=-dt.timedelta(hours=23, minutes=59),
                        max_value=dt.timedelta(hours=23, minutes=59))
timezones = st.none() | st.just(dt.timezone.utc) | offsets.map(dt.timezone)

hashable_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text() | st.binary() | st.dates() | st.timedeltas() | st.uuids()
    | st.datetimes(timezones=timezones) | st.times(timezones=timezones)
    | st.decimals(allow_nan=False)
)
plain_dtypes = (hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes()
                | hnp.integer_dtypes(endianness="?") | hnp.floating_dtypes(endianness="?")
                | hnp.complex_number_dtypes(endianness="?") | hnp.datetime64_dtypes()
                | hnp.timedelta64_dtypes())
numpy_scalars = plain_dtypes.flatmap(lambda d: hnp.arrays(d, ()).map(lambda a: a[()]))
scalars = (hashable_scalars | st.floats() | st.complex_numbers(allow_nan=True)
           | st.decimals() | numpy_scalars)
hashables = st.recursive(hashable_scalars,
                         lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
                         max_leaves=6)


def containers(children):
    return (st.lists(children, max_size=5) | st.lists(children, max_size=5).map(tuple)
            | st.dictionaries(hashables, children, max_size=5)
            | st.sets(hashables, max_size=5) | st.frozensets(hashables, max_size=5))


nested = st.recursive(scalars, containers, max_leaves=25)


@given(nested)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hypothesis_nested_values_roundtrip(value):
    roundtrip(value)


array_dtypes = plain_dtypes | hnp.array_dtypes(max_size=4) | hnp.nested_dtypes(max_leaves=4)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@st.composite
def arrays(draw):
    value = draw(hnp.arrays(array_dtypes, shapes))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "transposed"]))
    if layout == "fortran" and value.ndim >= 2:
        value = np.asfortranarray(value)
    elif layout == "strided" and value.ndim >= 1:
        value = value[::2]
    elif layout == "transposed":
        value = value.T
    return value


@given(arrays())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hypothesis_arrays_roundtrip(value):
    roundtrip(value)


@given(st.lists(arrays() | nested, max_size=3).map(lambda v: np.array(v + [None], object)[:-1]))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hypothesis_object_arrays_roundtrip(value):
    roundtrip(value)


# ---------------------------------------------------------------- unsupported values


class Thing:
    pass


@pytest.mark.parametrize("make, words", [
    (object, ["object", "convert"]),
    (Thing, ["Thing", "convert"]),
    (lambda: (lambda: 0), ["function"]),
    (lambda: [1, {2: Thing()}], ["Thing"]),
    (lambda: np.ma.masked_array([1, 2], mask=[0, 1]), ["MaskedArray", "filled"]),
    (lambda: np.matrix([[1, 2]]), ["matrix", "np.asarray"]),
    (lambda: range(3), ["range"]),
], ids=["object", "class", "function", "nested", "masked", "matrix", "range"])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_unsupported_types_raise_type_error_naming_them(make, words):
    with pytest.raises(TypeError) as info:
        encode(make())
    for word in words:
        assert word in str(info.value)


def test_pandas_objects_get_a_conversion_hint():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"DataFrame.*to_dict\('list'\)"):
        encode(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(TypeError, match=r"Series.*to_numpy"):
        encode(pd.Series([1, 2]))
    with pytest.raises(TypeError, match=r"Timestamp.*to_pydatetime"):
        encode(pd.Timestamp("2020-01-01"))


def test_time_with_zone_rules_and_cycles_are_refused():
    with pytest.raises(TypeError, match="fixed UTC offset"):
        encode(dt.time(1, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")))
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="reference cycle"):
        encode(loop)


def test_non_builtin_numpy_dtypes_are_refused():
    string_dtype = getattr(np.dtypes, "StringDType", None)
    if string_dtype is None:
        pytest.skip("numpy without StringDType")
    with pytest.raises(TypeError, match="astype"):
        encode(np.array(["a", "b"], dtype=string_dtype()))


# ---------------------------------------------------------------- compression


def test_large_zero_array_is_compressed():
    value = np.zeros(1 << 17)  # 1 MiB
    blob = encode(value)
    assert blob[4] & 1
    assert len(blob) < value.nbytes // 100
    assert_same(value, decode(blob))


def test_large_random_float_array_is_not_compressed():
    value = np.random.default_rng(1).random(1 << 17)
    blob = encode(value)
    assert blob[4] == 0
    assert len(blob) < value.nbytes + 64
    assert_same(value, decode(blob))


def test_small_bodies_are_never_compressed():
    assert encode(b"\0" * 1000)[4] == 0
    assert encode(b"\0" * 2000)[4] == 1
    assert decode(encode(b"\0" * 2000)) == b"\0" * 2000


def test_compressed_nested_values_roundtrip():
    value = {"rows": [{"name": f"row {i}", "value": i % 7} for i in range(2000)]}
    blob = encode(value)
    assert blob[4] == 1
    assert decode(blob) == value


def test_incompressible_bytes_are_stored_raw():
    value = np.random.default_rng(2).bytes(50_000)
    assert encode(value)[4] == 0


# ---------------------------------------------------------------- garbage in, ValueError out

SAMPLE = {
    "n": [None, True, False, -(2**70), 1.5, 2j, "s", b"b", (1,), {2}, frozenset({3})],
    "t": [dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1), "X")),
          dt.date(2020, 1, 1), dt.time(1, tzinfo=UTC5), dt.timedelta(1), uuid.UUID(int=5),
          decimal.Decimal("1.5")],
    "a": [np.arange(6, dtype=">i2").reshape(2, 3), np.float32(1),
          np.zeros(2, dtype=[("a", "f4", (2,)), ("o", "O")]), np.array([None, 1], object)],
}
SAMPLE_BLOB = encode(SAMPLE)


def decodes_or_refuses(data):
    """Decoding garbage either yields a value or raises ValueError: nothing else."""
    try:
        decode(data)
    except ValueError as exc:
        assert str(exc)


def test_every_truncation_is_refused():
    for end in range(len(SAMPLE_BLOB)):
        with pytest.raises(BlobFormatError):
            decode(SAMPLE_BLOB[:end])


def test_trailing_bytes_are_refused():
    with pytest.raises(BlobFormatError, match="after the value"):
        decode(encode([1, 2]) + b"N")


@given(st.binary(max_size=200))
@settings(max_examples=500, deadline=None)
def test_random_bytes_never_crash(data):
    decodes_or_refuses(data)
    decodes_or_refuses(MAGIC + b"\x00" + data)
    decodes_or_refuses(MAGIC + b"\x01" + data)


@given(st.data())
@settings(max_examples=500, deadline=None)
def test_mutated_blobs_never_crash(data):
    blob = bytearray(SAMPLE_BLOB)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(5, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    decodes_or_refuses(bytes(blob))


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_mutated_compressed_blobs_never_crash(data):
    blob = bytearray(encode({"x": list(range(500)), "y": "abc" * 500}))
    assert blob[4] == 1
    position = data.draw(st.integers(5, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    decodes_or_refuses(bytes(blob))


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"djb", "too short"),
    (b"djb\x01", "flag"),
    (b"djb\x01\x00", "missing"),
    (b"djb\x02\x00N", "unknown format header"),
    (b"\x80\x04\x95pickle", "unknown format header"),
    (b"djb\x01\x02N", "flag bits"),
    (b"djb\x01\x00?", "unknown value tag"),
    (b"djb\x01\x00l\xff\xff\xff\xff\x0f", "more than the bytes left"),
    (b"djb\x01\x00s\x05ab", "truncated"),
    (b"djb\x01\x00s\x02\xff\xfe", "UTF-8"),
    (b"djb\x01\x00i\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "longer than 10 bytes"),
    (b"djb\x01\x00Y\x00\x00\x0d\x20", "bad date"),
    (b"djb\x01\x00E\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00", "bad timedelta"),
    (b"djb\x01\x00D\xe4\x07\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01"
     + struct.pack("<q", 86_400_000_000), "time zone"),
    (b"djb\x01\x00X\x0a__import__", "not a Decimal"),
    (b"djb\x01\x00e\x01l\x00", "unhashable"),
    (b"djb\x01\x00d\x01l\x00N", "unhashable"),
    (b"djb\x01\x01\xff\xff\xff\xff\x0fxx", "cannot hold"),
    (b"djb\x01\x01\x05garbage", "does not inflate"),
])
def test_garbage_is_refused_with_a_clear_message(data, message):
    with pytest.raises(BlobFormatError, match=message):
        decode(data)


@pytest.mark.parametrize("header, name", [
    (b"mYm\x00", "mYm"), (b"dj0\x00", "dj0"), (b"ZL123\x00", "ZL123"),
])
def test_datajoint_formats_are_pointed_to_the_reader_of_every_format(header, name):
    # this module is the djb format only; objects.codecs.blob reads DataJoint's too
    with pytest.raises(BlobFormatError, match=r"DataJoint's: read it with .*blob\.decode"):
        decode(header + b"\x00" * 20)


def test_compressed_size_mismatch_is_refused():
    import zlib

    body = b"l" + varint(500) + b"i\x01\x00" * 500
    stream = zlib.compress(body)
    good = MAGIC + b"\x01" + varint(len(body)) + stream
    assert decode(good) == [0] * 500
    level = blobformat.ZLIB_LEVEL
    assert encode([0] * 500) == MAGIC + b"\x01" + varint(len(body)) + zlib.compress(body, level)
    for size in (len(body) - 1, len(body) + 1):
        with pytest.raises(BlobFormatError, match="does not match its size"):
            decode(MAGIC + b"\x01" + varint(size) + stream)


def test_decode_takes_bytes_like_input_only():
    blob = encode([1, "a"])
    assert decode(memoryview(blob)) == [1, "a"]
    assert decode(bytearray(blob)) == [1, "a"]
    assert decode(memoryview(b"xx" + blob)[2:]) == [1, "a"]
    assert decode(memoryview(np.frombuffer(blob + b"\0" * (-len(blob) % 4), "u1")
                             [: len(blob)])) == [1, "a"]
    with pytest.raises(TypeError, match="bytes"):
        decode(blob.decode("latin-1"))
    with pytest.raises(TypeError):
        decode(None)


# ---------------------------------------------------------------- crafted dtype descriptions

EVIL = [
    "__import__('os').system('touch {marker}')",
    "eval(\"__import__('os').system('touch {marker}')\")",
    "f8'); __import__('os').system('touch {marker}'); ('",
    "object",
    "O; touch {marker}",
    "<f8,<i4",
    "(<f8, (2,))",
    "[('a', '<f8')]",
    "<f8\n",
    "=f8",
    "|i4",
    "<f64",
    "<M8[lightyears]",
    "<U99999999999",
]


@pytest.fixture
def no_code_execution(monkeypatch, tmp_path):
    """eval/exec/compile fail the test; any import during decode is recorded."""
    imported: list[str] = []
    real_import = builtins.__import__

    def forbid(*args, **kwargs):
        raise AssertionError("decode tried to evaluate code")

    def recording_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbid)
    monkeypatch.setattr(builtins, "exec", forbid)
    monkeypatch.setattr(builtins, "compile", forbid)
    monkeypatch.setattr(builtins, "__import__", recording_import)
    blobformat._dtype_from_text.cache_clear()
    marker = tmp_path / "pwned"
    yield marker, imported
    assert not marker.exists()
    assert not {"os", "subprocess", "posix", "pickle", "importlib"} & set(imported)


@pytest.mark.parametrize("evil", EVIL)
def test_crafted_dtype_strings_are_refused(no_code_execution, evil):
    marker, _ = no_code_execution
    text = evil.format(marker=marker)
    with pytest.raises(BlobFormatError, match="not a numpy dtype|not available"):
        decode(blob_with_array(text))
    struct_description = ["struct", 8, False, [["a", text, 0, None]]]
    with pytest.raises(BlobFormatError):
        decode(blob_with_array(struct_description))
    with pytest.raises(BlobFormatError):
        decode(blob_with_array(["sub", text, [2]]))


@pytest.mark.parametrize("description", [
    {"names": ["a"], "formats": ["<f8"]},  # numpy's dict form is not accepted
    [["a", "<f8"]],  # nor dtype.descr lists
    ["struct", 8, False, [["a", "<f8", 0]]],
    ["struct", 8, False, [["a", "<f8", -1, None]]],
    ["struct", 8, False, [["a", "<f8", 4, None]]],  # field past the itemsize
    ["struct", 16, False, [["a", "<f8", 0, None], ["a", "<f8", 8, None]]],  # duplicate
    ["struct", 8, False, [[1, "<f8", 0, None]]],
    ["struct", 8, False, [["a", "<f8", 0, 5]]],
    ["struct", 8, "yes", []],
    ["struct", True, False, []],
    ["struct", 2**70, False, []],
    ["sub", "<f8", [-1]],
    ["sub", "<f8", "2"],
    ["sub", "<f8", [2**40, 2**40]],
    ["sub", "<f8", [2]],  # a sub-array dtype for a whole array
    ["eval", "1+1"],
    ["sub"] * 10_000,
    [],
    None,
    42,
])
def test_crafted_dtype_descriptions_are_refused(no_code_execution, description):
    with pytest.raises(BlobFormatError):
        decode(blob_with_array(description))


def test_deep_dtype_nesting_is_refused(no_code_execution):
    description: object = "<f8"
    for _ in range(40):
        description = ["sub", description, [1]]
    with pytest.raises(BlobFormatError, match="nested too deeply"):
        decode(blob_with_array(description))


def test_array_data_must_match_its_shape(no_code_execution):
    with pytest.raises(BlobFormatError, match="truncated"):
        decode(blob_with_array("<f8", dims=(2,), data=b"\0" * 8))
    with pytest.raises(BlobFormatError, match="truncated"):
        decode(blob_with_array("<f8", dims=(2**40, 2**40), data=b"\0" * 8))
    with pytest.raises(BlobFormatError, match="dimensions"):
        decode(blob_with_array("<f8", dims=(1,) * 100, data=b"\0" * 8))
    with pytest.raises(BlobFormatError, match="too short"):
        decode(blob_with_array("|O", dims=(1000,), data=b"N"))
    assert decode(blob_with_array("<f8", dims=(1,))).tolist() == [0.0]


def test_invalid_unicode_code_points_are_refused():
    bad = struct.pack("<I", 0x110000)
    with pytest.raises(BlobFormatError, match="code point"):
        decode(blob_with_array("<U1", dims=(1,), data=bad))
    description = ["struct", 4, False, [["s", "<U1", 0, None]]]
    with pytest.raises(BlobFormatError, match="code point"):
        decode(blob_with_array(description, dims=(1,), data=bad))
    blob = blob_with_array(">U1", dims=(), data=bad[::-1])
    with pytest.raises(BlobFormatError, match="code point"):
        decode(MAGIC + b"\x00g" + blob[6:])
    with pytest.raises(ValueError, match="code point"):  # encode refuses what decode would
        encode(np.frombuffer(bad, dtype="<U1"))


def test_numpy_scalar_tag_requires_a_plain_0d_array():
    blob = bytearray(encode(np.arange(2)))
    blob[5:6] = b"g"
    with pytest.raises(BlobFormatError, match="0-d"):
        decode(bytes(blob))
    blob = bytearray(encode(np.array(None, dtype=object)))
    blob[5:6] = b"g"
    with pytest.raises(BlobFormatError, match="0-d"):
        decode(bytes(blob))


def test_deep_nesting_is_refused_not_crashing():
    with pytest.raises(BlobFormatError, match="nested too deeply"):
        decode(MAGIC + b"\x00" + b"l\x01" * 100_000 + b"N")


# ---------------------------------------------------------------- the format hook


def test_decoders_dispatch_on_the_header(monkeypatch):
    monkeypatch.setitem(DECODERS, b"tst\x01", lambda data: ("custom", bytes(data[4:])))
    assert decode(b"tst\x01xyz") == ("custom", b"xyz")
    assert decode(encode(1)) == 1


def test_blob_format_error_is_a_value_error():
    assert issubclass(BlobFormatError, ValueError)
