"""One catalogue of ``<blob>`` values, imported by both libraries' sides of the tests.

It imports only numpy and the standard library, so the DataJoint venv runs it too. Each entry
is ``(value, expected)``: ``expected`` is what reading the stored value back gives in DataJoint
2.3.5 (0-d arrays come back as numpy scalars, unicode arrays as object arrays of str, ...).
MATLAB cells and structs need each library's own classes: ``catalog(MatCell, MatStruct)``.
:func:`difference` compares two values strictly (types, dtypes, shapes, values, NaN equal to
NaN) and says where they differ; classes are compared by name across the two libraries.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import numpy as np

__all__ = ["catalog", "difference", "NUMERIC_DTYPES", "DATETIME_UNITS"]

NUMERIC_DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
                  "uint64", "float32", "float64", "complex64", "complex128")
DATETIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")


def _same_value(value: Any) -> tuple[Any, Any]:
    return value, value


def _numeric_arrays() -> dict[str, tuple[Any, Any]]:
    rng = np.random.default_rng(7)
    entries = {}
    for name in NUMERIC_DTYPES:
        dtype = np.dtype(name)
        if dtype.kind == "b":
            data = rng.integers(0, 2, 24).astype(bool)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, 24, dtype=dtype, endpoint=True)
        elif dtype.kind == "f":
            data = rng.normal(0, 1e3, 24).astype(dtype)
        else:
            data = (rng.normal(0, 1, 24) + 1j * rng.normal(0, 1, 24)).astype(dtype)
        entries[f"array {name} 1-d"] = _same_value(data)
        entries[f"array {name} 2-d"] = _same_value(data.reshape(4, 6))
        entries[f"array {name} 3-d fortran"] = _same_value(np.asfortranarray(data.reshape(2, 3, 4)))
        entries[f"array {name} strided"] = _same_value(data.reshape(4, 6)[::2, 1::2])
        entries[f"array {name} 0-d"] = (np.array(data[0]), data[0])
        entries[f"array {name} empty"] = _same_value(np.zeros((0, 3), dtype))
        entries[f"scalar {name}"] = _same_value(data[1])
    for unit in DATETIME_UNITS:
        values = np.array([0, 1, 1000, -5], dtype=f"datetime64[{unit}]")
        entries[f"array datetime64[{unit}]"] = _same_value(values)
    entries["array datetime64 with NaT"] = _same_value(
        np.array(["2024-01-02T03:04:05", "NaT"], "datetime64[s]"))
    entries["scalar datetime64"] = _same_value(np.datetime64("2024-05-06", "D"))
    entries["array float64 special"] = _same_value(
        np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]))
    entries["array float64 large zeros"] = _same_value(np.zeros((300, 40)))
    entries["array int64 large ramp"] = _same_value(np.arange(20_000))
    entries["array float64 large random"] = _same_value(rng.random((128, 64)))
    return entries


def _object_arrays() -> dict[str, tuple[Any, Any]]:
    unicode = np.array([["a", "bé"], ["ccc", ""], ["日本", "x"]])
    unicode_read = np.empty(unicode.shape, object)
    for index, text in np.ndenumerate(unicode):
        unicode_read[index] = str(text)
    mixed = np.empty((2, 2), object)
    mixed[:] = [[1, "two"], [None, np.arange(3)]]
    ragged = np.empty(3, object)
    ragged[:] = [np.arange(2), np.arange(3.0), [1, 2]]
    return {
        "array unicode 2-d": (unicode, unicode_read),
        "array unicode 0-d": (np.array("hello"), np.array("hello", object)),
        "array object mixed": _same_value(mixed),
        "array object ragged": _same_value(ragged),
        "array object empty": _same_value(np.empty((0,), object)),
    }


def _structured() -> dict[str, tuple[Any, Any]]:
    plain = np.array([(1, 2.5, "ab"), (3, -1.0, "c")],
                     dtype=[("n", "<i4"), ("x", "<f8"), ("label", "<U3")])
    plain_read = np.empty(2, [("n", "<i4"), ("x", "<f8"), ("label", object)])
    plain_read["n"], plain_read["x"] = plain["n"], plain["x"]
    plain_read["label"][:] = ["ab", "c"]
    aligned = np.zeros(3, dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True))
    aligned["a"], aligned["b"] = [1, 2, 3], [0.5, 1.5, 2.5]
    aligned_read = np.empty(3, [("a", "u1"), ("b", "<f8")])
    aligned_read["a"], aligned_read["b"] = aligned["a"], aligned["b"]
    inner = np.array([(1, 2.0), (3, 4.0)], dtype=[("i", "<i2"), ("f", "<f4")])
    nested = np.empty(2, [("inner", inner.dtype), ("k", "<i8")])
    nested["inner"], nested["k"] = inner, [7, 8]
    grid = np.zeros((2, 3), dtype=[("u", "<u2"), ("c", "<c16")])
    grid["u"] = np.arange(6).reshape(2, 3)
    grid["c"] = 1j * np.arange(6).reshape(2, 3)
    return {
        "structured plain": (plain, plain_read.view(np.recarray)),
        "structured aligned": (aligned, aligned_read.view(np.recarray)),
        "structured nested": (nested, nested.view(np.recarray)),
        "structured 2-d": (grid, grid.view(np.recarray)),
        "recarray": (plain.view(np.recarray), plain_read.view(np.recarray)),
    }


def _python_values() -> dict[str, tuple[Any, Any]]:
    values = {
        "None": None, "True": True, "False": False, "int 0": 0, "int -129": -129,
        "int 2**100": 2**100, "int -(2**200)": -(2**200), "float": 2.5, "float -0.0": -0.0,
        "float nan": float("nan"), "float inf": float("inf"), "complex": 1.5 - 2j,
        "str": "hello", "str empty": "", "str unicode": "µ, 日本, 🙂", "bytes": b"\x00\xffab",
        "bytes empty": b"", "Decimal": decimal.Decimal("3.14159265358979323846"),
        "Decimal negative exponent": decimal.Decimal("-1.5E-10"),
        "UUID": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "date": dt.date(2024, 2, 29), "time": dt.time(13, 14, 15, 123456),
        "time midnight": dt.time(0, 0), "datetime": dt.datetime(1999, 12, 31, 23, 59, 58, 7),
        "datetime midnight": dt.datetime(2020, 1, 1), "date year 1": dt.date(1, 1, 1),
        "list": [1, "a", None, [2.5, [b"x"]]], "list empty": [],
        "tuple": (1, (2, 3), "x"), "tuple empty": (),
        "set": {1, 2, 3, -7}, "set of strings": {"a"}, "set empty": set(),
        "dict": {"a": 1, 2: "b", (3, 4): [5], None: {"nested": np.arange(3)}},
        "dict empty": {},
        "dict of arrays": {"t": np.linspace(0, 1, 50), "y": np.arange(50, dtype=np.int16)},
        "list of arrays": [np.arange(4), np.ones((2, 2), np.float32)],
    }
    entries = {name: _same_value(value) for name, value in values.items()}
    entries["frozenset"] = (frozenset({1, 2}), {1, 2})
    entries["bytearray"] = (bytearray(b"abc"), b"abc")
    entries["scalar str_"] = (np.str_("numpy text"), "numpy text")
    entries["scalar bytes_"] = (np.bytes_(b"numpy bytes"), b"numpy bytes")
    entries["list of scalars"] = _same_value([np.float64(1.5), np.int8(-3), np.bool_(True)])
    entries["large list"] = _same_value(list(range(500)))
    entries["list with a 0-d array"] = ([np.array(2.5)], [np.float64(2.5)])
    return entries


def _matlab(mat_cell: type, mat_struct: type) -> dict[str, tuple[Any, Any]]:
    cell = np.empty((2, 2), object)
    cell[:] = [[np.arange(3.0), np.array([[1.0]])],
               [np.zeros((0, 0)), np.arange(4.0).reshape(2, 2)]]
    struct = np.empty((1, 2), [("a", object), ("b", object)])
    struct["a"][0, 0], struct["b"][0, 0] = np.array([[1.0, 2.0]]), np.array([[3.0]])
    struct["a"][0, 1], struct["b"][0, 1] = np.zeros((2, 2), np.int32), cell.view(mat_cell)
    return {
        "MATLAB cell": _same_value(cell.view(mat_cell)),
        "MATLAB struct": _same_value(struct.view(mat_struct)),
        "MATLAB cell empty": _same_value(np.empty(0, object).view(mat_cell)),
    }


def catalog(mat_cell: type, mat_struct: type) -> dict[str, tuple[Any, Any]]:
    """Every value kind, by name: ``(value, what reading it back gives)``."""
    return {**_python_values(), **_numeric_arrays(), **_object_arrays(), **_structured(),
            **_matlab(mat_cell, mat_struct)}


def difference(actual: Any, expected: Any, where: str = "value") -> str | None:
    """Where ``actual`` differs from ``expected`` (None if they are the same)."""
    if type(actual).__name__ != type(expected).__name__:
        return f"{where}: {type(actual).__name__} instead of {type(expected).__name__}"
    if isinstance(expected, (np.ndarray, np.generic)):  # numpy scalars: as 0-d arrays
        return _array_difference(np.asarray(actual), np.asarray(expected), where)
    if isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            return f"{where}: length {len(actual)} instead of {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            found = difference(a, e, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if list(actual) != list(expected):
            return f"{where}: keys {list(actual)!r} instead of {list(expected)!r}"
        for key in expected:
            found = difference(actual[key], expected[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, float) and expected != expected:
        return None if actual != actual else f"{where}: {actual!r} instead of nan"
    if isinstance(expected, (float, complex)):  # repr: -0.0 and NaN parts compared too
        if repr(actual) == repr(expected):
            return None
        return f"{where}: {actual!r} instead of {expected!r}"
    if actual != expected:
        return f"{where}: {actual!r:.80} instead of {expected!r:.80}"
    return None


def _array_difference(actual: np.ndarray, expected: np.ndarray, where: str) -> str | None:
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        return (f"{where}: {actual.dtype}{actual.shape} instead of "
                f"{expected.dtype}{expected.shape}")
    if expected.dtype.names:
        for name in expected.dtype.names:
            found = _array_difference(np.asarray(actual[name]), np.asarray(expected[name]),
                                      f"{where}.{name}")
            if found:
                return found
        return None
    if expected.dtype.kind == "O":
        for index in np.ndindex(expected.shape):
            found = difference(actual[index], expected[index], f"{where}[{index}]")
            if found:
                return found
        return None
    equal_nan = expected.dtype.kind in "fcmM"
    if not np.array_equal(actual, expected, equal_nan=equal_nan):
        return f"{where}: {actual!r:.120} instead of {expected!r:.120}"
    return None
