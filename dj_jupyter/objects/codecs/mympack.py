"""Writing DataJoint's blob format (``mYm``/``dj0``, see :mod:`.mym`) byte for byte.

:func:`pack` gives the bytes DataJoint 2.x's ``blob.pack`` gives for the same value, so DataJoint
reads what dj_jupyter writes and a ``<blob@>`` of either library has the same content hash.
Two deliberate differences, both read by DataJoint alike:

* compression: DataJoint zlib-compresses (default level) every blob over 1000 bytes and keeps
  the result if it is any smaller; this writer first judges large blobs on two small samples and
  stores them uncompressed unless compression saves at least 10 % (random floats save ~5 %, at
  ~10 MB/s: the cost that made DataJoint's write slow). Where both compress, the bytes agree.
* values DataJoint would store wrongly or not at all raise :class:`NotDataJoint` (a
  ``TypeError``), and :mod:`.blob` stores them in dj_jupyter's own format instead: time-zone
  aware datetimes and times (DataJoint drops the zone), timedelta, numpy dtypes
  outside DataJoint's table (float16, longdouble, timedelta64, bytes and void arrays,
  big-endian data), structured arrays with sub-array or titled fields, str with lone
  surrogates, ints over 65535 bytes, masked arrays and other ndarray subclasses.

What DataJoint converts on the way, this writer converts alike (and :mod:`.mym` reads back
alike): 0-d numeric arrays come back as numpy scalars, unicode arrays as object arrays of
str, frozenset as a set, bytearray as bytes, other mappings / sequences / sets as a dict / list
or tuple / set, structured arrays as ``np.recarray`` with packed fields. A memoryview is
written as bytes (DataJoint would write a tuple of ints).
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import decimal
import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from .mym import DJ0, MYM, OBJECT_TYPE, TYPE_IDS, ZL123, MatCell, MatStruct

__all__ = ["pack", "NotDataJoint", "COMPRESS_ABOVE", "MIN_SAVING"]

COMPRESS_ABOVE = 1000  # bytes; DataJoint's threshold: smaller blobs are never compressed
MIN_SAVING = 0.10  # a large blob is compressed only if its samples shrink by this much
_SAMPLE_ABOVE = 16 * 1024
_SAMPLE_CHUNK = 4 * 1024
_SAMPLE_LEVEL = 1  # samples only decide; the stored stream uses zlib's default, as DataJoint

_U64 = struct.Struct("<Q")
_ARRAY_HEAD = struct.Struct("<II")
_TYPE_OF: dict[np.dtype, int] = {dtype: type_id for type_id, dtype in TYPE_IDS.items()}


class NotDataJoint(TypeError):
    """A value DataJoint's blob format cannot hold as it is (see the module docstring)."""


def pack(value: Any, *, compress: bool = True) -> bytes:
    """DataJoint's blob of ``value``: header, value and, when it pays, ZL123 compression.

    Raises :class:`NotDataJoint` for a value (or a part) the format cannot hold, and
    ``ValueError`` for a structure nested too deeply or holding a reference cycle.
    """
    packer = _Packer()
    parts: list = []
    try:
        packer.value(value, parts)
    except RecursionError:
        raise ValueError(
            "cannot encode the value: it is nested too deeply or contains a reference cycle"
        ) from None
    plain = b"".join([DJ0 if packer.dj0 else MYM, *parts])
    del parts
    return _compress_if_it_pays(plain) if compress else plain


def _compress_if_it_pays(plain: bytes) -> bytes:
    size = len(plain)
    if size <= COMPRESS_ABOVE:
        return plain
    if size > _SAMPLE_ABOVE:
        view = memoryview(plain)
        packed = 0
        for start in (size // 4 - _SAMPLE_CHUNK // 2, 3 * size // 4 - _SAMPLE_CHUNK // 2):
            packed += len(zlib.compress(view[start:start + _SAMPLE_CHUNK], _SAMPLE_LEVEL))
        if packed > (1.0 - MIN_SAVING) * 2 * _SAMPLE_CHUNK:
            return plain
    compressed = b"".join((ZL123, _U64.pack(size), zlib.compress(plain)))
    return compressed if len(compressed) < size else plain


class _Packer:
    """Appends a value's parts to a list; ``dj0`` turns True once a non-MATLAB part is used."""

    def __init__(self) -> None:
        self.dj0 = False

    def value(self, value: Any, out: list) -> int:
        """Append ``value``; the number of bytes appended."""
        writer = _WRITERS.get(type(value))
        if writer is None:
            writer = _writer_for_other(value)
        return writer(self, value, out)

    def item(self, value: Any, out: list) -> int:
        """Append ``value`` after its u64 length (the form of every container element)."""
        slot = len(out)
        out.append(b"")
        size = self.value(value, out)
        out[slot] = _U64.pack(size)
        return size + 8

    # -- Python values (all dj0)

    def none(self, value: None, out: list) -> int:
        self.dj0 = True
        out.append(b"\xff")
        return 1

    def bool_(self, value: bool, out: list) -> int:
        self.dj0 = True
        out.append(b"\x0b\x01" if value else b"\x0b\x00")
        return 2

    def int_(self, value: int, out: list) -> int:
        size = value.bit_length() // 8 + 1
        if size > 0xFFFF:
            raise NotDataJoint("an int over 65535 bytes")
        self.dj0 = True
        data = b"\x0a" + size.to_bytes(2, "little") + int.to_bytes(value, size, "little",
                                                                   signed=True)
        out.append(data)
        return len(data)

    def float_(self, value: float, out: list) -> int:
        self.dj0 = True
        out.append(b"\x0d" + struct.pack("<d", value))
        return 9

    def complex_(self, value: complex, out: list) -> int:
        self.dj0 = True
        out.append(b"\x0c" + struct.pack("<dd", value.real, value.imag))
        return 17

    def str_(self, value: str, out: list) -> int:
        try:
            data = str.encode(value, "utf-8")
        except UnicodeEncodeError:
            raise NotDataJoint("a str with lone surrogates") from None
        return self._sized(b"\x05", data, out)

    def bytes_(self, value: bytes | bytearray | memoryview, out: list) -> int:
        data = value.tobytes() if type(value) is memoryview else bytes(value)
        return self._sized(b"\x06", data, out)

    def decimal_(self, value: decimal.Decimal, out: list) -> int:
        return self._sized(b"d", str(value).encode("ascii"), out)

    def _sized(self, code: bytes, data: bytes, out: list) -> int:
        self.dj0 = True
        out.append(code + _U64.pack(len(data)))
        out.append(data)
        return 9 + len(data)

    def uuid_(self, value: uuid.UUID, out: list) -> int:
        self.dj0 = True
        out.append(b"u" + value.bytes)
        return 17

    def datetime_(self, value: dt.date | dt.time, out: list) -> int:
        date = value if type(value) is not dt.time else None
        time = None if type(value) is dt.date else value
        if isinstance(time, (dt.datetime, dt.time)) and time.tzinfo is not None:
            raise NotDataJoint("a datetime or time with a time zone")
        day = -1 if date is None else (date.year * 100 + date.month) * 100 + date.day
        clock = -1 if time is None else (
            ((time.hour * 100 + time.minute) * 100 + time.second) * 1_000_000 + time.microsecond)
        self.dj0 = True
        out.append(b"t" + struct.pack("<iq", day, clock))
        return 13

    def sequence(self, code: bytes, values: Any, out: list) -> int:
        self.dj0 = True
        out.append(code + _U64.pack(len(values)))
        return 9 + sum(self.item(item, out) for item in values)

    def list_(self, value: Any, out: list) -> int:
        return self.sequence(b"\x02", value, out)

    def tuple_(self, value: Any, out: list) -> int:
        return self.sequence(b"\x01", value, out)

    def set_(self, value: Any, out: list) -> int:
        return self.sequence(b"\x03", value, out)

    def dict_(self, value: Any, out: list) -> int:
        self.dj0 = True
        out.append(b"\x04" + _U64.pack(len(value)))
        size = 9
        for key, item in value.items():
            size += self.item(key, out) + self.item(item, out)
        return size

    # -- numpy

    def scalar(self, value: np.generic, out: list) -> int:
        if isinstance(value, np.str_):
            return self.str_(str(value), out)
        if isinstance(value, np.bytes_):
            return self.bytes_(bytes(value), out)
        if not isinstance(value, (np.number, np.bool_, np.datetime64)):
            raise NotDataJoint(f"a numpy {type(value).__name__} scalar")
        return self.array(np.asarray(value), out)

    def ndarray(self, value: np.ndarray, out: list) -> int:
        if value.dtype.fields is not None:
            return self.record_array(value, out)
        return self.array(value, out)

    def array(self, array: np.ndarray, out: list) -> int:
        """An ``"A"`` array: numbers, bool, datetime64, objects or unicode (as objects)."""
        dtype = array.dtype
        is_complex = dtype.kind == "c"
        part_dtype = np.empty(0, dtype).real.dtype if is_complex else dtype
        if dtype.kind in "OU":
            type_id = OBJECT_TYPE
        else:
            type_id = _TYPE_OF.get(part_dtype, -1)
            if type_id < 0 or part_dtype.byteorder == ">":
                raise NotDataJoint(f"a numpy array of dtype {dtype}")
        head = (b"A" + _U64.pack(array.ndim) + b"".join(_U64.pack(d) for d in array.shape)
                + _ARRAY_HEAD.pack(type_id, is_complex))
        out.append(head)
        if type_id == OBJECT_TYPE:
            self.dj0 = True
            return len(head) + sum(self.item(item, out) for item in array.ravel(order="F"))
        if array.ndim == 0 or dtype.kind == "M":
            self.dj0 = True
        if is_complex:
            size = _append_fortran(array.real, out) + _append_fortran(array.imag, out)
        else:
            size = _append_fortran(array, out)
        return len(head) + size

    def record_array(self, array: np.ndarray, out: list) -> int:
        """An ``"F"`` array of fields: the field names, then each field as an array."""
        dtype = array.dtype
        if not dtype.names:
            raise NotDataJoint("a structured array without fields")
        for name in dtype.names:
            field = dtype.fields[name]
            if len(field) > 2 or field[0].subdtype is not None:
                raise NotDataJoint(f"a structured array whose field {name!r} has a title "
                                   "or a sub-array")
        self.dj0 = True
        names = "\x00".join(dtype.names).encode("utf-8") + b"\x00"
        out.append(b"F" + len(dtype.names).to_bytes(4, "little") + names)
        size = 5 + len(names)
        array = np.asarray(array)
        for name in dtype.names:
            size += self.ndarray(array[name], out)
        return size

    def cell(self, value: MatCell, out: list) -> int:
        array = np.asarray(value)
        out.append(b"C" + _U64.pack(array.ndim) + b"".join(_U64.pack(d) for d in array.shape))
        size = 9 + 8 * array.ndim
        return size + sum(self.item(item, out) for item in array.ravel(order="F"))

    def struct(self, value: MatStruct, out: list) -> int:
        array = np.asarray(value)
        names = array.dtype.names or ()
        text = "\x00".join(names).encode("utf-8") + b"\x00"
        out.append(b"S" + _U64.pack(array.ndim) + b"".join(_U64.pack(d) for d in array.shape)
                   + len(names).to_bytes(4, "little") + text)
        size = 13 + 8 * array.ndim + len(text)
        for record in array.ravel(order="F"):
            for item in record:
                size += self.item(item, out)
        return size


def _append_fortran(array: np.ndarray, out: list) -> int:
    """Append the array's data in Fortran order, without a copy when it is laid out so."""
    data = np.asarray(array).T
    if not data.flags.c_contiguous:
        data = np.ascontiguousarray(data)
    if data.nbytes:
        out.append(memoryview(data.reshape(-1).view(np.uint8)))
    return data.nbytes


_Writer = Callable[[_Packer, Any, list], int]

_WRITERS: dict[type, _Writer] = {
    type(None): _Packer.none, bool: _Packer.bool_, int: _Packer.int_, float: _Packer.float_,
    complex: _Packer.complex_, str: _Packer.str_, bytes: _Packer.bytes_,
    bytearray: _Packer.bytes_, memoryview: _Packer.bytes_, list: _Packer.list_,
    tuple: _Packer.tuple_, set: _Packer.set_, frozenset: _Packer.set_, dict: _Packer.dict_,
    dt.datetime: _Packer.datetime_, dt.date: _Packer.datetime_, dt.time: _Packer.datetime_,
    uuid.UUID: _Packer.uuid_, decimal.Decimal: _Packer.decimal_,
    np.ndarray: _Packer.ndarray, np.recarray: _Packer.ndarray, np.memmap: _Packer.ndarray,
    MatCell: _Packer.cell, MatStruct: _Packer.struct,
}

# subclasses are written as their base type, checked in DataJoint's order
_BASES: tuple[tuple[type, _Writer], ...] = (
    (bool, _Packer.bool_), (int, _Packer.int_), (complex, _Packer.complex_),
    (float, _Packer.float_), (collections.abc.Mapping, _Packer.dict_), (str, _Packer.str_),
    ((bytes, bytearray), _Packer.bytes_), (collections.abc.MutableSequence, _Packer.list_),
    (collections.abc.Sequence, _Packer.tuple_), (collections.abc.Set, _Packer.set_),
)


def _writer_for_other(value: Any) -> _Writer:
    if isinstance(value, np.generic):
        return _Packer.scalar
    if isinstance(value, (np.ndarray, dt.date, dt.time, dt.timedelta, uuid.UUID,
                          decimal.Decimal)):
        raise NotDataJoint(f"a {type(value).__name__}")  # ndarray or datetime subclasses
    for base, writer in _BASES:
        if isinstance(value, base):
            return writer
    raise NotDataJoint(f"a {type(value).__name__}")
