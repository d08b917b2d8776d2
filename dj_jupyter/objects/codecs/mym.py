"""DataJoint's blob format (``mYm`` and ``dj0``): reading it, and what both sides share.

DataJoint (Python and MATLAB) stores a ``<blob>`` in this format; :mod:`.mympack` writes it.
This module reads it back the way DataJoint 2.x's ``blob.unpack`` does, so both libraries
fetch the same values, with every length checked (bad bytes raise :class:`BlobFormatError`,
never pickle, never code).

Byte layout (all integers little-endian)::

    blob      = "ZL123\\0" u64(size) zlib(plain)     compressed; plain has ``size`` bytes
              | plain
    plain     = ("mYm\\0" | "dj0\\0") value           nothing after the value
    item      = u64(len(value)) value                  the elements of every container

    value     code      payload
    array     "A"       u64 ndim, u64 x ndim shape, u32 type id, u32 is_complex, data
    struct    "S"       u64 ndim, u64 x ndim shape, u32 n, n x name "\\0", prod(shape) x n x item
    cell      "C"       u64 ndim, u64 x ndim shape, prod(shape) x item
    fields    "F"       u32 n, n x name "\\0", n x value (arrays of one shape)
    None      0xff
    tuple     0x01      u64 count, count x item            (list 0x02, set 0x03)
    dict      0x04      u64 count, count x (key item, value item)
    str       0x05      u64 len, UTF-8                     (bytes 0x06: u64 len, bytes)
    int       0x0a      u16 len, two's complement
    bool      0x0b      1 byte
    complex   0x0c      2 x f64                            (float 0x0d: f64)
    Decimal   "d"       u64 len, ASCII str(d)
    datetime  "t"       i32 yyyymmdd (-1: none), i64 hhmmssuuuuuu (-1: none)
    UUID      "u"       16 bytes

MATLAB's 32-bit mym wrote every u64 above (counts, lengths, dimensions) as a u32; such a
``mYm`` blob is recognised by reading it whole (see :func:`unpack`).

Array data is Fortran-ordered: the real part, then (if is_complex) the imaginary part; object
arrays (type 5; DataJoint writes unicode arrays so too) hold one item per element; MATLAB char
arrays (type 4) hold UTF-16 code units. ``mYm`` is the MATLAB subset: DataJoint marks a blob
``dj0`` when it uses anything else (Python values, 0-d arrays, datetime64, object arrays).

What comes back is what DataJoint returns: numeric arrays are read-only views of the fetched
bytes (``np.array(x)`` makes a copy to change); a numpy scalar is written as a 0-d array, and a
0-d numeric array reads as a numpy scalar; unicode arrays read as object arrays of str; ``"F"``
arrays read as ``np.recarray``; MATLAB structs and cells as :class:`MatStruct` /
:class:`MatCell` (which write back as such). Only where DataJoint's reader breaks (an object
array whose elements are equal-shaped arrays, characters beyond U+00FF) this reader returns
the value that was written instead.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zlib
from typing import Any

import numpy as np

from .blobformat import BlobFormatError

__all__ = ["MatCell", "MatStruct", "MYM", "DJ0", "ZL123", "HEADERS", "TYPE_IDS", "CHAR_TYPE",
           "OBJECT_TYPE", "unpack"]

MYM = b"mYm\x00"
DJ0 = b"dj0\x00"
ZL123 = b"ZL123\x00"
HEADERS = (MYM, DJ0, ZL123)

# type id -> dtype of an "A" array (DataJoint's table; 4 is MATLAB char, 5 is object)
TYPE_IDS: dict[int, np.dtype] = {
    3: np.dtype("?"), 6: np.dtype("<f8"), 7: np.dtype("<f4"),
    8: np.dtype("i1"), 9: np.dtype("u1"), 10: np.dtype("<i2"), 11: np.dtype("<u2"),
    12: np.dtype("<i4"), 13: np.dtype("<u4"), 14: np.dtype("<i8"), 15: np.dtype("<u8"),
    **{65_536 + k: np.dtype(f"<M8[{unit}]") for k, unit in enumerate(
        ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"))},
}
CHAR_TYPE = 4
OBJECT_TYPE = 5
_MATLAB_ONLY = {0: "unknown", 1: "cell", 2: "struct", 16: "function handle"}
_MAX_NDIM = 64


class MatCell(np.ndarray):
    """A MATLAB cell array: an object array that is written back as a cell (``"C"``)."""


class MatStruct(np.recarray):
    """A MATLAB struct array (object fields) that is written back as a struct (``"S"``)."""


def unpack(data: memoryview, widths: tuple[int, ...] = (8, 4)) -> Any:
    """The value of a DataJoint blob (``mYm``/``dj0``, compressed or not).

    Counts, lengths and dimensions are 64-bit; MATLAB's 32-bit mym wrote them as 32-bit. A
    ``mYm`` blob is read with each width of ``widths`` in turn (DataJoint needs its switch
    ``dj.blob.use_32bit_dims`` for those; here it only sets which width is tried first), and
    the first width's error is raised when none reads the whole blob.
    """
    if bytes(data[:len(ZL123)]) == ZL123:
        data = _inflate(data)
    protocol = bytes(data[:len(MYM)])
    if protocol not in (MYM, DJ0):
        raise BlobFormatError(
            f"corrupt blob: DataJoint's protocol header {protocol!r} is neither mYm nor dj0")
    errors: list[BlobFormatError] = []
    for width in widths if protocol == MYM else (8,):
        try:
            return _read_whole(data, width)
        except BlobFormatError as exc:
            errors.append(exc)
    raise errors[0]


def _read_whole(data: memoryview, width: int) -> Any:
    reader = _Reader(data, len(MYM), width)
    value = reader.value()
    if reader.pos != len(data):
        raise BlobFormatError(
            f"corrupt blob: {len(data) - reader.pos} unexpected byte(s) after the value")
    return value


def _inflate(data: memoryview) -> memoryview:
    start = len(ZL123)
    if len(data) < start + 8:
        raise BlobFormatError("truncated blob: a ZL123 blob needs its 8-byte size")
    size = int.from_bytes(data[start:start + 8], "little")
    stream = data[start + 8:]
    if size > 1100 * len(stream) + 64:  # beyond what zlib can reach: not a real size
        raise BlobFormatError(f"corrupt blob: compressed size {len(stream)} cannot hold {size}")
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(stream, size)
    except zlib.error as exc:
        raise BlobFormatError(f"corrupt blob: the ZL123 body does not inflate ({exc})") from None
    if len(plain) != size or not inflater.eof or inflater.unconsumed_tail:
        raise BlobFormatError("corrupt blob: the ZL123 body does not match its size")
    return memoryview(plain)


class _Reader:
    """A cursor over the bytes of one blob; each ``read_*`` checks that its bytes exist."""

    def __init__(self, data: memoryview, pos: int, width: int = 8) -> None:
        self.data = data
        self.pos = pos
        self.width = width  # bytes of a count, length or dimension: 8, or 4 in 32-bit mYm

    # -- primitives

    def take(self, count: int, what: str) -> memoryview:
        start, end = self.pos, self.pos + count
        if count < 0 or end > len(self.data):
            raise BlobFormatError(
                f"truncated blob: {what} needs {count} byte(s) at offset {start}, "
                f"{max(len(self.data) - start, 0)} left")
        self.pos = end
        return self.data[start:end]

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def count(self, what: str) -> int:
        """A count of items, each of which takes at least one byte."""
        value = self.uint(self.width, what)
        if value > len(self.data) - self.pos:
            raise BlobFormatError(f"corrupt blob: {what} claims {value} items, "
                                  "more than the bytes left")
        return value

    def shape(self, what: str) -> tuple[int, ...]:
        ndim = self.uint(self.width, f"the dimensions of {what}")
        if ndim > _MAX_NDIM:
            raise BlobFormatError(f"corrupt blob: {what} with {ndim} dimensions")
        return tuple(self.uint(self.width, f"the shape of {what}") for _ in range(ndim))

    def name(self) -> str:
        """A zero-terminated field name (searched for in steps: names are short)."""
        step = 256
        while True:
            end = bytes(self.data[self.pos:self.pos + step]).find(b"\x00")
            if end >= 0 or self.pos + step >= len(self.data):
                break
            step *= 4
        if end < 0:
            raise BlobFormatError("truncated blob: a field name has no terminating zero byte")
        raw = self.take(end, "a field name")
        self.pos += 1
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise BlobFormatError(f"corrupt blob: a field name is not UTF-8 ({exc})") from None

    def item(self) -> Any:
        """One length-prefixed value; its length must match what it holds."""
        size = self.uint(self.width, "the length of an item")
        start = self.pos
        value = self.value()
        if self.pos - start != size:
            raise BlobFormatError(
                f"corrupt blob: an item at offset {start} claims {size} bytes, holds "
                f"{self.pos - start}")
        return value

    def value(self) -> Any:
        code = self.take(1, "a value code")[0]
        reader = _BY_CODE.get(code)
        if reader is None:
            raise BlobFormatError(
                f"corrupt blob: unknown value code {bytes((code,))!r} at {self.pos - 1}; if "
                "a newer DataJoint wrote it, upgrade dj_jupyter")
        return reader(self)

    # -- values

    def none(self) -> None:
        return None

    def tuple_(self) -> tuple:
        return tuple(self.list_())

    def list_(self) -> list:
        return [self.item() for _ in range(self.count("a sequence"))]

    def set_(self) -> set:
        try:
            return set(self.list_())
        except TypeError as exc:
            raise BlobFormatError(f"corrupt blob: a set holds an unhashable item ({exc})") \
                from None

    def dict_(self) -> dict:
        result = {}
        for _ in range(self.count("a dict")):
            key = self.item()
            try:
                result[key] = self.item()
            except TypeError as exc:
                raise BlobFormatError(f"corrupt blob: a dict key is unhashable ({exc})") \
                    from None
        return result

    def text(self, what: str) -> str:
        raw = self.take(self.uint(self.width, f"the length of {what}"), what)
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise BlobFormatError(f"corrupt blob: {what} is not UTF-8 ({exc})") from None

    def str_(self) -> str:
        return self.text("a str")

    def bytes_(self) -> bytes:
        return self.take(self.uint(self.width, "the length of bytes"), "bytes").tobytes()

    def int_(self) -> int:
        return int.from_bytes(self.take(self.uint(2, "an int's length"), "an int"), "little",
                              signed=True)

    def bool_(self) -> bool:
        return self.take(1, "a bool")[0] != 0

    def complex_(self) -> complex:
        real, imag = np.frombuffer(self.take(16, "a complex"), "<f8")
        return complex(float(real), float(imag))

    def float_(self) -> float:
        return float(np.frombuffer(self.take(8, "a float"), "<f8")[0])

    def decimal_(self) -> decimal.Decimal:
        text = self.text("a Decimal")
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise BlobFormatError(f"corrupt blob: {text[:40]!r} is not a Decimal") from None

    def datetime_(self) -> dt.date | dt.time | dt.datetime | None:
        day = int.from_bytes(self.take(4, "a date"), "little", signed=True)
        clock = int.from_bytes(self.take(8, "a time"), "little", signed=True)
        try:
            date = dt.date(day // 10000, day // 100 % 100, day % 100) if day >= 0 else None
            time = dt.time(clock // 10**10 % 100, clock // 10**8 % 100, clock // 10**6 % 100,
                           clock % 10**6) if clock >= 0 else None
        except ValueError as exc:
            raise BlobFormatError(f"corrupt blob: bad date or time ({exc})") from None
        if date is not None and time is not None:
            return dt.datetime.combine(date, time)
        return date if time is None else time

    def uuid_(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16, "a UUID").tobytes())

    def array(self) -> np.ndarray:
        shape = self.shape("an array")
        size = _product(shape)
        type_id = self.uint(4, "an array's type")
        is_complex = self.uint(4, "an array's complex flag")
        if type_id == OBJECT_TYPE:
            return self.objects(shape, size)
        if type_id == CHAR_TYPE:
            return self.chars(shape, size)
        dtype = TYPE_IDS.get(type_id)
        if dtype is None:
            kind = _MATLAB_ONLY.get(type_id, "unknown")
            raise BlobFormatError(f"corrupt blob: an array of type id {type_id} ({kind}) "
                                  "cannot be read in Python")
        real = self.numbers(dtype, size)
        if is_complex:
            if dtype.kind not in "iuf":
                raise BlobFormatError(f"corrupt blob: a complex array of {dtype}")
            imag = self.numbers(dtype, size)
            values = np.empty(size, np.complex64 if dtype == np.float32 else np.complex128)
            values.real = real
            values.imag = imag
            real = values
        if not shape:  # DataJoint gives a 0-d array back as a numpy scalar
            return real[0]
        return real.reshape(shape, order="F")

    def numbers(self, dtype: np.dtype, size: int) -> np.ndarray:
        """A read-only view of the blob's bytes, as in DataJoint: a copy would cost more than
        the database's own read of them (benchmarks/objects.py, ``blob read``)."""
        start = self.pos
        self.take(size * dtype.itemsize, f"an array of {size} {dtype}")
        return np.frombuffer(self.data, dtype, count=size, offset=start)

    def objects(self, shape: tuple[int, ...], size: int) -> np.ndarray:
        if size > len(self.data) - self.pos:
            raise BlobFormatError(f"corrupt blob: an object array of shape {shape} is too short")
        flat = np.empty(size, object)
        for index in range(size):
            flat[index] = self.item()
        return flat.reshape(shape, order="F")

    def chars(self, shape: tuple[int, ...], size: int) -> np.ndarray:
        codes = np.frombuffer(self.take(2 * size, "a char array"), "<u2")
        text = codes.tobytes().decode("utf-16-le", "surrogatepass")
        if len(shape) == 1 or (len(shape) == 2 and shape[0] == 1):  # a MATLAB string
            return np.array([text])
        return np.array(list(text), "U1").reshape(shape, order="F")

    def struct(self) -> np.ndarray:
        shape = self.shape("a struct")
        size = _product(shape)
        names = [self.name() for _ in range(self.uint(4, "a struct's field count"))]
        if not names:
            return np.array(None)
        if size * len(names) > len(self.data) - self.pos:
            raise BlobFormatError(f"corrupt blob: a struct of shape {shape} is too short")
        dtype = _object_fields(names)
        columns = [np.empty(size, object) for _ in names]
        for index in range(size):
            for column in columns:
                column[index] = self.item()
        flat = np.empty(size, dtype)
        for name, column in zip(names, columns):
            flat[name] = column
        return flat.reshape(shape, order="F").view(MatStruct)

    def cell(self) -> np.ndarray:
        shape = self.shape("a cell array")
        size = _product(shape)
        if size == 0:
            return np.empty(0, object).view(MatCell)
        return self.objects(shape, size).view(MatCell)

    def fields(self) -> np.ndarray:
        names = [self.name() for _ in range(self.uint(4, "a record array's field count"))]
        if not names:
            return np.array(None)
        arrays = [self.value() for _ in names]
        if not all(isinstance(a, np.ndarray) and a.shape == arrays[0].shape for a in arrays):
            raise BlobFormatError("corrupt blob: the fields of a record array differ in shape")
        try:
            dtype = np.dtype([(name, array.dtype) for name, array in zip(names, arrays)])
        except (TypeError, ValueError) as exc:
            raise BlobFormatError(f"corrupt blob: bad record array fields ({exc})") from None
        result = np.empty(arrays[0].shape, dtype)
        for name, array in zip(names, arrays):
            result[name] = array
        return result.view(np.recarray)

    def sparse(self) -> None:
        raise BlobFormatError("a MATLAB sparse array (code 'P') cannot be read in Python; "
                              "save it with full(...) in MATLAB")


def _object_fields(names: list[str]) -> np.dtype:
    try:
        return np.dtype([(name, object) for name in names])
    except (TypeError, ValueError) as exc:
        raise BlobFormatError(f"corrupt blob: bad struct field names ({exc})") from None


def _product(shape: tuple[int, ...]) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


_BY_CODE = {
    ord("A"): _Reader.array, ord("S"): _Reader.struct, ord("C"): _Reader.cell,
    ord("F"): _Reader.fields, ord("P"): _Reader.sparse,
    0xFF: _Reader.none, 0x01: _Reader.tuple_, 0x02: _Reader.list_, 0x03: _Reader.set_,
    0x04: _Reader.dict_, 0x05: _Reader.str_, 0x06: _Reader.bytes_, 0x0A: _Reader.int_,
    0x0B: _Reader.bool_, 0x0C: _Reader.complex_, 0x0D: _Reader.float_,
    ord("d"): _Reader.decimal_, ord("t"): _Reader.datetime_, ord("u"): _Reader.uuid_,
}
