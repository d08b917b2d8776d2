"""The ``djb`` byte format: Python and numpy values as bytes, without pickle.

This is the format behind the ``<blob>`` codec. :func:`encode` turns a value into
bytes and :func:`decode` turns them back, with the law ``decode(encode(x)) == x``
(same types, same values; arrays keep dtype, shape and byte order). Decoding never
executes code and never imports anything: every byte is checked, and anything that
is not a valid blob raises :class:`BlobFormatError` (a ``ValueError``).

Long module: one byte format, its encoder and its checking decoder belong together (the
layout below is the contract both sides keep); a split would spread one spec over files.

Byte layout, format version 1
-----------------------------
::

    blob   = MAGIC FLAGS BODY
    MAGIC  = b"djb\\x01"          format name and version (decode dispatches on it)
    FLAGS  = 1 byte              bit 0: BODY is zlib-compressed; bits 1-7 are 0
    BODY   = VALUE               plain: exactly one value, nothing after it
           | size ZSTREAM        compressed: uncompressed size (varint), zlib stream

    varint = unsigned LEB128: 7 bits a byte, lowest first, high bit = "more", <= 10 bytes
    LEN(x) = varint byte count of x, then x
    VALUE  = TAG PAYLOAD         TAG: one ASCII byte

    tag  type                  payload
    N    None                  -
    T F  True, False           -
    i    int                   LEN(minimal two's complement, little-endian)
    f    float                 8 bytes IEEE 754 binary64, little-endian (nan bits kept)
    c    complex               16 bytes: real, imag as for float
    s    str                   LEN(UTF-8; lone surrogates kept with "surrogatepass")
    b    bytes                 LEN(bytes)
    l t  list, tuple           varint count, count x VALUE
    e z  set, frozenset        varint count, count x VALUE, sorted by their encoded bytes
    d    dict                  varint count, count x (key VALUE, value VALUE), insertion order
    D    datetime.datetime     struct <HBBBBBIB (year month day hour minute second
                               microsecond fold), then TZ
    Y    datetime.date         struct <HBB (year month day)
    H    datetime.time         struct <BBBIB (hour minute second microsecond fold), then TZ
    E    datetime.timedelta    struct <iii (days seconds microseconds)
    U    uuid.UUID             16 bytes (UUID.bytes)
    X    decimal.Decimal       LEN(ASCII str(d))
    a    numpy.ndarray         ARRAY
    g    numpy scalar          ARRAY of the 0-d array np.asarray(x); decoded as arr[()]

    TZ     = 0x00                              naive
           | 0x01 offset                       datetime.timezone(offset)
           | 0x02 offset LEN(UTF-8 name)       datetime.timezone(offset, name)
             offset: struct <q, the UTC offset in microseconds
    ARRAY  = LEN(DTYPE) varint ndim, ndim x varint dim, DATA
    DTYPE  = UTF-8 JSON (data only, never evaluated), one of
             "<f8"                             dtype.str of a plain dtype, whitelisted
             ["sub", DTYPE, [dim, ...]]        a sub-array dtype (inside structs)
             ["struct", itemsize, aligned, [[name, DTYPE, offset, title or null], ...]]
    DATA   = prod(dims) * itemsize raw bytes, C order, in the dtype's own byte order
           | object dtype: prod(dims) x VALUE, C order
           | structured dtype holding objects: for each field in order, ARRAY of arr[field]

Compression: a body over 1 KiB is zlib-compressed (level 2) only if that saves at
least 10 %. Bodies over 16 KiB are first judged on two samples (up to 4 KiB, at a quarter
and three quarters of the body), so large incompressible arrays (random floats) cost one
memory copy, not a zlib pass.

Conversions to know about:

* ``bytearray`` and ``memoryview`` decode as ``bytes``.
* Subclasses of int, float, complex, str, bytes, list, tuple, set, frozenset and
  dict (IntEnum, namedtuple, OrderedDict, defaultdict, ...) decode as the base type.
* ``numpy.memmap`` and ``numpy.recarray`` decode as plain ``numpy.ndarray``; other
  ndarray subclasses (masked arrays, matrices) are refused. Fortran-ordered and
  non-contiguous arrays decode C-ordered (and writeable).
* A tz-aware datetime keeps its UTC offset (and zone abbreviation) as a fixed
  ``datetime.timezone``: zoneinfo/pytz rules (DST changes) are not kept.
* Subclasses of datetime, date, time, timedelta, UUID and Decimal (pandas.Timestamp,
  ...) are refused with a conversion hint, as are unicode arrays holding invalid
  code points (decode would refuse them).
* Dtype metadata is dropped; the padding bytes of a structured array are kept only
  when the array is C-contiguous.

Other formats: :data:`DECODERS` maps a 4-byte header to its decoder, so a later
version can be added without touching :func:`decode`. DataJoint's own formats (``mYm``,
``dj0``), which ``<blob>`` writes by default, live in :mod:`.mym` and :mod:`.mympack`;
:mod:`.blob` chooses between them and this format.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import struct
import uuid
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from ...errors import DataJointError

__all__ = ["encode", "decode", "BlobFormatError", "MAGIC", "DECODERS"]

MAGIC = b"djb\x01"
FLAG_ZLIB = 0x01
_HEADER_SIZE = len(MAGIC) + 1

COMPRESS_MIN_BODY = 1024  # bytes; smaller bodies are never compressed
COMPRESS_MIN_SAVING = 0.10  # compress only if it saves at least this fraction
ZLIB_LEVEL = 2  # measured: level 1 is ~10 % faster but up to 25 % larger; 3 is up to 2x slower
_SAMPLE_ABOVE = 16 * 1024  # larger bodies are first judged on samples
_SAMPLE_CHUNK = 4 * 1024  # at most; a 64th of the body when smaller
# zlib reads incompressible bytes at only ~30 MB/s here: four 4 KiB samples cost 0.6 ms a
# MiB of blob (~10 % of a 160 MiB/s insert); two catch the same arrays for half of that.
_SAMPLE_COUNT = 2

_MAX_NDIM = 64


class BlobFormatError(DataJointError, ValueError):
    """The bytes are not a blob that can be decoded: corrupt, truncated or of an unknown format."""


# ====================================================================== encoding


def encode(value: Any) -> bytes:
    """Serialise ``value`` to blob bytes (see the module docstring for what is supported).

    Raises ``TypeError`` for a value (or a part of it) of an unsupported type, and
    ``ValueError`` for a structure nested too deeply or containing a reference cycle.
    """
    parts: list = [MAGIC, b"\x00"]
    try:
        _encode_value(value, parts)
    except RecursionError:
        raise ValueError(
            "cannot encode the value: it is nested too deeply or contains a reference cycle"
        ) from None
    blob = b"".join(parts)
    del parts
    if len(blob) - _HEADER_SIZE > COMPRESS_MIN_BODY:
        packed = _compress_if_it_pays(memoryview(blob)[_HEADER_SIZE:])
        if packed is not None:
            return b"".join((MAGIC, bytes((FLAG_ZLIB,)), *packed))
    return blob


def _compress_if_it_pays(body: memoryview) -> tuple[bytes, bytes] | None:
    """``(varint size, zlib stream)`` if compressing saves enough, else ``None``."""
    size = len(body)
    keep = 1.0 - COMPRESS_MIN_SAVING
    if size > _SAMPLE_ABOVE:
        chunk = min(_SAMPLE_CHUNK, size // 64)
        packed_sample = 0
        for k in range(_SAMPLE_COUNT):  # centred in equal parts of the body
            start = (2 * k + 1) * size // (2 * _SAMPLE_COUNT) - chunk // 2
            packed_sample += len(zlib.compress(body[start:start + chunk], ZLIB_LEVEL))
        if packed_sample > keep * chunk * _SAMPLE_COUNT:
            return None
    prefix = _varint(size)
    stream = zlib.compress(body, ZLIB_LEVEL)
    if len(prefix) + len(stream) > keep * size:
        return None
    return prefix, stream


def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _encode_value(value: Any, out: list) -> None:
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        encoder = _encoder_for_other(value)
    encoder(value, out)


def _enc_none(value: None, out: list) -> None:
    out.append(b"N")


def _enc_bool(value: bool, out: list) -> None:
    out.append(b"T" if value else b"F")


def _enc_int(value: int, out: list) -> None:
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    out.append(b"i" + _varint(size) + int.to_bytes(value, size, "little", signed=True))


_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")


def _enc_float(value: float, out: list) -> None:
    out.append(b"f" + _F64.pack(value))


def _enc_complex(value: complex, out: list) -> None:
    out.append(b"c" + _C128.pack(value.real, value.imag))


def _enc_str(value: str, out: list) -> None:
    data = str.encode(value, "utf-8", "surrogatepass")
    out.append(b"s" + _varint(len(data)))
    out.append(data)


def _enc_bytes(value: bytes | bytearray | memoryview, out: list) -> None:
    if type(value) is memoryview:
        value = value.tobytes()  # any shape or format: its bytes in C order
    out.append(b"b" + _varint(len(value)))
    out.append(bytes(value) if type(value) is not bytes else value)


def _sequence_encoder(tag: bytes) -> Callable[[Any, list], None]:
    def encode_sequence(value: Any, out: list) -> None:
        out.append(tag + _varint(len(value)))
        for item in value:
            _encode_value(item, out)

    return encode_sequence


def _set_encoder(tag: bytes) -> Callable[[Any, list], None]:
    def encode_set(value: Any, out: list) -> None:
        # sorted by encoding, so equal sets give equal bytes whatever the hash seed
        items = []
        for item in value:
            parts: list = []
            _encode_value(item, parts)
            items.append(b"".join(parts))
        items.sort()
        out.append(tag + _varint(len(items)))
        out.extend(items)

    return encode_set


def _enc_dict(value: dict, out: list) -> None:
    out.append(b"d" + _varint(len(value)))
    for key, item in dict.items(value):
        _encode_value(key, out)
        _encode_value(item, out)


_DATETIME = struct.Struct("<HBBBBBIB")
_DATE = struct.Struct("<HBB")
_TIME = struct.Struct("<BBBIB")
_TIMEDELTA = struct.Struct("<iii")
_OFFSET = struct.Struct("<q")


def _tz_part(value: dt.datetime | dt.time) -> bytes:
    tz = value.tzinfo
    if tz is None:
        return b"\x00"
    offset = value.utcoffset()
    if offset is None:  # only a time with a zone that needs a date (zoneinfo) gets here
        raise TypeError(
            f"cannot encode {value!r}: its time zone {tz!r} has no fixed UTC offset without "
            "a date; use a datetime, or a time with a datetime.timezone"
        )
    micros = (offset.days * 86400 + offset.seconds) * 1_000_000 + offset.microseconds
    name = value.tzname()
    if name is None or (isinstance(tz, dt.timezone) and name == dt.timezone(offset).tzname(None)):
        return b"\x01" + _OFFSET.pack(micros)  # an unnamed offset: no name to keep
    data = name.encode("utf-8", "surrogatepass")
    return b"\x02" + _OFFSET.pack(micros) + _varint(len(data)) + data


def _enc_datetime(value: dt.datetime, out: list) -> None:
    out.append(
        b"D"
        + _DATETIME.pack(value.year, value.month, value.day, value.hour, value.minute,
                         value.second, value.microsecond, value.fold)
        + _tz_part(value)
    )


def _enc_date(value: dt.date, out: list) -> None:
    out.append(b"Y" + _DATE.pack(value.year, value.month, value.day))


def _enc_time(value: dt.time, out: list) -> None:
    out.append(
        b"H"
        + _TIME.pack(value.hour, value.minute, value.second, value.microsecond, value.fold)
        + _tz_part(value)
    )


def _enc_timedelta(value: dt.timedelta, out: list) -> None:
    out.append(b"E" + _TIMEDELTA.pack(value.days, value.seconds, value.microseconds))


def _enc_uuid(value: uuid.UUID, out: list) -> None:
    out.append(b"U" + value.bytes)


def _enc_decimal(value: decimal.Decimal, out: list) -> None:
    data = str(value).encode("ascii")
    out.append(b"X" + _varint(len(data)) + data)


def _enc_ndarray(value: np.ndarray, out: list) -> None:
    out.append(b"a")
    _encode_array(value, out)


def _enc_ndarray_subclass(value: np.ndarray, out: list) -> None:
    out.append(b"a")
    _encode_array(np.asarray(value), out)


def _enc_numpy_scalar(value: np.generic, out: list) -> None:
    out.append(b"g")
    _encode_array(np.asarray(value), out)


def _encode_array(array: np.ndarray, out: list) -> None:
    dtype = array.dtype
    text = json.dumps(_describe_dtype(dtype), separators=(",", ":")).encode("utf-8")
    out.append(
        _varint(len(text)) + text + _varint(array.ndim) + b"".join(map(_varint, array.shape))
    )
    if not dtype.hasobject:
        if dtype.kind in "UV":
            _check_text(array)  # what decode would refuse is refused here already
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        if array.size and dtype.itemsize:
            out.append(memoryview(array.reshape(-1).view(np.uint8)))
    elif dtype.fields is None:  # object dtype: each element is a value
        for item in array.ravel(order="C"):
            _encode_value(item, out)
    else:  # structured dtype with object fields: one array per field
        for name in dtype.names:
            _encode_array(array[name], out)


def _describe_dtype(dtype: np.dtype) -> Any:
    """JSON-safe description of ``dtype`` that :func:`_build_dtype` turns back into it."""
    if dtype.fields is not None:
        fields = []
        for name in dtype.names:
            field_type, offset, *title = dtype.fields[name]
            title = title[0] if title else None
            if title is not None and not isinstance(title, str):
                raise TypeError(
                    f"cannot encode dtype {dtype}: field title {title!r} is not a string"
                )
            fields.append([name, _describe_dtype(field_type), offset, title])
        return ["struct", dtype.itemsize, bool(dtype.isalignedstruct), fields]
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return ["sub", _describe_dtype(base), list(shape)]
    text = dtype.str
    if not _PLAIN_DTYPE.fullmatch(text):
        raise TypeError(
            f"cannot encode a numpy array of dtype {dtype!r}: not a built-in numpy dtype; "
            "convert it first, e.g. arr.astype(object) or arr.astype(str)"
        )
    return text


_ENCODERS: dict[type, Callable[[Any, list], None]] = {
    type(None): _enc_none,
    bool: _enc_bool,
    int: _enc_int,
    float: _enc_float,
    complex: _enc_complex,
    str: _enc_str,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    memoryview: _enc_bytes,
    list: _sequence_encoder(b"l"),
    tuple: _sequence_encoder(b"t"),
    set: _set_encoder(b"e"),
    frozenset: _set_encoder(b"z"),
    dict: _enc_dict,
    dt.datetime: _enc_datetime,
    dt.date: _enc_date,
    dt.time: _enc_time,
    dt.timedelta: _enc_timedelta,
    uuid.UUID: _enc_uuid,
    decimal.Decimal: _enc_decimal,
    np.ndarray: _enc_ndarray,
    np.memmap: _enc_ndarray_subclass,
    np.recarray: _enc_ndarray_subclass,
}

# subclasses of these are stored as the base type (IntEnum -> int, namedtuple -> tuple, ...)
_STORED_AS_BASE = (int, float, complex, str, bytes, list, tuple, set, frozenset, dict)


def _encoder_for_other(value: Any) -> Callable[[Any, list], None]:
    if isinstance(value, np.generic):
        return _enc_numpy_scalar
    if not isinstance(value, np.ndarray):
        for base in _STORED_AS_BASE:
            if isinstance(value, base):
                return _ENCODERS[base]
    raise TypeError(_unsupported_message(value))


_PANDAS_HINTS = {
    "DataFrame": "convert it with df.to_dict('list') (a dict of lists) or "
                 "df.to_records(index=False) (a structured array)",
    "Series": "convert it with s.to_numpy() or s.to_list()",
    "Index": "convert it with index.to_numpy() or index.to_list()",
    "Timestamp": "convert it with ts.to_pydatetime() or ts.to_datetime64()",
    "Timedelta": "convert it with td.to_pytimedelta() or td.to_timedelta64()",
}


def _unsupported_message(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    name = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
    if module.split(".")[0] == "pandas" and cls.__name__ in _PANDAS_HINTS:
        hint = _PANDAS_HINTS[cls.__name__]
    elif isinstance(value, np.ma.MaskedArray):
        hint = "convert it with arr.filled(fill_value), or store arr.data and arr.mask separately"
    elif isinstance(value, np.ndarray):
        hint = "convert it with np.asarray(value)"
    elif isinstance(value, (dt.date, dt.time, dt.timedelta, uuid.UUID, decimal.Decimal)):
        base = next(b for b in (dt.datetime, dt.date, dt.time, dt.timedelta, uuid.UUID,
                                decimal.Decimal) if isinstance(value, b))
        hint = f"convert it to a plain {base.__module__}.{base.__qualname__}"
    else:
        hint = ("convert it to supported values (None, bool, int, float, complex, str, bytes, "
                "list, tuple, set, frozenset, dict, datetime/date/time/timedelta, UUID, "
                "Decimal, numpy scalars and arrays)")
    return (f"a <blob> cannot store a value of type {name}: {hint}, "
            "or keep it in an object store with a codec such as <object@>")


# ====================================================================== decoding


def _decode_v1(data: memoryview) -> Any:
    if len(data) < _HEADER_SIZE:
        raise BlobFormatError("truncated blob: the flag byte after the header is missing")
    flags = data[len(MAGIC)]
    if flags & ~FLAG_ZLIB:
        raise BlobFormatError(f"corrupt blob: unknown flag bits {flags:#04x}")
    body = data[_HEADER_SIZE:]
    if flags & FLAG_ZLIB:
        body = _decompress(body)
    value, pos = _decode_value(body, 0)
    if pos != len(body):
        raise BlobFormatError(
            f"corrupt blob: {len(body) - pos} unexpected byte(s) after the value"
        )
    return value


def _decompress(body: memoryview) -> memoryview:
    size, pos = _read_varint(body, 0)
    stream = body[pos:]
    if size > 1100 * len(stream) + 64:  # beyond what zlib can reach: not a real size
        raise BlobFormatError(f"corrupt blob: compressed size {len(stream)} cannot hold {size}")
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(stream, size)
    except zlib.error as exc:
        raise BlobFormatError(f"corrupt blob: the compressed body does not inflate ({exc})") \
            from None
    if len(plain) != size or not inflater.eof or inflater.unconsumed_tail \
            or inflater.unused_data:
        raise BlobFormatError("corrupt blob: the compressed body does not match its size")
    return memoryview(plain)


DECODERS: dict[bytes, Callable[[memoryview], Any]] = {MAGIC: _decode_v1}
"""Header (4 bytes) -> decoder of the whole blob (header included). Add formats here."""

# DataJoint's own headers: read by .blob, which hands only the rest to this module
_DATAJOINT_HEADERS = (b"mYm\x00", b"dj0\x00", b"ZL12")


def decode(data: bytes | bytearray | memoryview) -> Any:
    """Rebuild the value from blob bytes made by :func:`encode`.

    Raises :class:`BlobFormatError` (a ``ValueError``) for anything else: a wrong or
    unknown header, truncated or corrupt bytes. Decoding never executes code.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode expects bytes, got {type(data).__name__}")
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        try:
            view = view.cast("B")
        except TypeError as exc:
            raise BlobFormatError(f"cannot read the blob's buffer as bytes: {exc}") from None
    header = bytes(view[: len(MAGIC)])
    decoder = DECODERS.get(header)
    if decoder is None:
        raise BlobFormatError(_unknown_header_message(header))
    try:
        return decoder(view)
    except BlobFormatError:
        raise
    except RecursionError:
        raise BlobFormatError("corrupt blob: values are nested too deeply") from None
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error,
            zlib.error, decimal.InvalidOperation, MemoryError) as exc:
        # every check above should have fired first; this net keeps the promise anyway
        raise BlobFormatError(f"corrupt blob: {type(exc).__name__}: {exc}") from None


def _unknown_header_message(header: bytes) -> str:
    if len(header) < len(MAGIC):
        return (f"not a blob: {len(header)} byte(s), too short for a format header; the "
                "column holds bytes that no version of DataJoint or dj_jupyter wrote")
    if header in _DATAJOINT_HEADERS:
        return (f"blob format {header!r} is DataJoint's: read it with "
                "dj_jupyter.objects.codecs.blob.decode, which reads every format")
    return (f"not a blob: unknown format header {header!r} (dj_jupyter reads DataJoint's "
            f"mYm, dj0 and ZL123 and its own {', '.join(map(repr, DECODERS))}); if a newer "
            "version wrote it, upgrade dj_jupyter, else the bytes are corrupt")


def _need(data: memoryview, pos: int, count: int, what: str) -> int:
    end = pos + count
    if end > len(data):
        raise BlobFormatError(
            f"truncated blob: {what} needs {count} byte(s) at offset {pos}, "
            f"{max(len(data) - pos, 0)} left"
        )
    return end


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    size = len(data)
    while True:
        if pos >= size:
            raise BlobFormatError(f"truncated blob: a length runs past the end at offset {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise BlobFormatError(f"corrupt blob: a length is longer than 10 bytes at {pos}")


def _read_len_bytes(data: memoryview, pos: int, what: str) -> tuple[memoryview, int]:
    count, pos = _read_varint(data, pos)
    end = _need(data, pos, count, what)
    return data[pos:end], end


def _read_text(data: memoryview, pos: int, what: str) -> tuple[str, int]:
    raw, pos = _read_len_bytes(data, pos, what)
    try:
        return str(raw, "utf-8", "surrogatepass"), pos
    except UnicodeDecodeError as exc:
        raise BlobFormatError(f"corrupt blob: {what} is not valid UTF-8 ({exc})") from None


def _decode_value(data: memoryview, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise BlobFormatError(f"truncated blob: a value is missing at offset {pos}")
    tag = data[pos]
    decoder = _DECODERS_BY_TAG.get(tag)
    if decoder is None:
        raise BlobFormatError(f"corrupt blob: unknown value tag {bytes((tag,))!r} at {pos}")
    return decoder(data, pos + 1)


def _dec_none(data: memoryview, pos: int) -> tuple[Any, int]:
    return None, pos


def _dec_true(data: memoryview, pos: int) -> tuple[Any, int]:
    return True, pos


def _dec_false(data: memoryview, pos: int) -> tuple[Any, int]:
    return False, pos


def _dec_int(data: memoryview, pos: int) -> tuple[Any, int]:
    if pos < len(data) and data[pos] < 0x80:  # fast path: a one-byte length
        end = pos + 1 + data[pos]
        if end <= len(data):
            return int.from_bytes(data[pos + 1:end], "little", signed=True), end
    raw, pos = _read_len_bytes(data, pos, "an int")
    return int.from_bytes(raw, "little", signed=True), pos


def _dec_float(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, 8, "a float")
    return _F64.unpack_from(data, pos)[0], end


def _dec_complex(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, 16, "a complex")
    real, imag = _C128.unpack_from(data, pos)
    return complex(real, imag), end


def _dec_str(data: memoryview, pos: int) -> tuple[Any, int]:
    return _read_text(data, pos, "a str")


def _dec_bytes(data: memoryview, pos: int) -> tuple[Any, int]:
    raw, pos = _read_len_bytes(data, pos, "a bytes value")
    return raw.tobytes(), pos


def _read_count(data: memoryview, pos: int, what: str) -> tuple[int, int]:
    count, pos = _read_varint(data, pos)
    if count > len(data) - pos:  # every item takes at least one byte
        raise BlobFormatError(
            f"corrupt blob: {what} claims {count} items, more than the bytes left"
        )
    return count, pos


def _dec_list(data: memoryview, pos: int) -> tuple[Any, int]:
    count, pos = _read_count(data, pos, "a list")
    items = []
    for _ in range(count):
        item, pos = _decode_value(data, pos)
        items.append(item)
    return items, pos


def _dec_tuple(data: memoryview, pos: int) -> tuple[Any, int]:
    items, pos = _dec_list(data, pos)
    return tuple(items), pos


def _dec_set(data: memoryview, pos: int) -> tuple[Any, int]:
    items, pos = _dec_list(data, pos)
    try:
        return set(items), pos
    except TypeError as exc:
        raise BlobFormatError(f"corrupt blob: a set holds an unhashable item ({exc})") from None


def _dec_frozenset(data: memoryview, pos: int) -> tuple[Any, int]:
    items, pos = _dec_set(data, pos)
    return frozenset(items), pos


def _dec_dict(data: memoryview, pos: int) -> tuple[Any, int]:
    count, pos = _read_count(data, pos, "a dict")
    result = {}
    for _ in range(count):
        key, pos = _decode_value(data, pos)
        item, pos = _decode_value(data, pos)
        try:
            result[key] = item
        except TypeError as exc:
            raise BlobFormatError(f"corrupt blob: a dict key is unhashable ({exc})") from None
    return result, pos


def _read_tz(data: memoryview, pos: int) -> tuple[dt.tzinfo | None, int]:
    end = _need(data, pos, 1, "a time zone")
    kind = data[pos]
    if kind == 0:
        return None, end
    if kind not in (1, 2):
        raise BlobFormatError(f"corrupt blob: unknown time zone kind {kind} at {pos}")
    pos = _need(data, end, 8, "a UTC offset")
    offset = dt.timedelta(microseconds=_OFFSET.unpack_from(data, end)[0])
    try:
        if kind == 1:
            return dt.timezone(offset), pos
        name, pos = _read_text(data, pos, "a time zone name")
        return dt.timezone(offset, name), pos
    except ValueError as exc:
        raise BlobFormatError(f"corrupt blob: bad time zone ({exc})") from None


def _dec_datetime(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, _DATETIME.size, "a datetime")
    year, month, day, hour, minute, second, micro, fold = _DATETIME.unpack_from(data, pos)
    tz, end = _read_tz(data, end)
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tz, fold=fold), end
    except ValueError as exc:
        raise BlobFormatError(f"corrupt blob: bad datetime ({exc})") from None


def _dec_date(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, _DATE.size, "a date")
    try:
        return dt.date(*_DATE.unpack_from(data, pos)), end
    except ValueError as exc:
        raise BlobFormatError(f"corrupt blob: bad date ({exc})") from None


def _dec_time(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, _TIME.size, "a time")
    hour, minute, second, micro, fold = _TIME.unpack_from(data, pos)
    tz, end = _read_tz(data, end)
    try:
        return dt.time(hour, minute, second, micro, tz, fold=fold), end
    except ValueError as exc:
        raise BlobFormatError(f"corrupt blob: bad time ({exc})") from None


def _dec_timedelta(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, _TIMEDELTA.size, "a timedelta")
    days, seconds, micro = _TIMEDELTA.unpack_from(data, pos)
    if not (0 <= seconds < 86400 and 0 <= micro < 1_000_000):
        raise BlobFormatError("corrupt blob: bad timedelta (seconds or microseconds out of range)")
    try:
        return dt.timedelta(days, seconds, micro), end
    except OverflowError as exc:
        raise BlobFormatError(f"corrupt blob: bad timedelta ({exc})") from None


def _dec_uuid(data: memoryview, pos: int) -> tuple[Any, int]:
    end = _need(data, pos, 16, "a UUID")
    return uuid.UUID(bytes=data[pos:end].tobytes()), end


_DECIMAL_TEXT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Infinity|inf|sNaN\d*|NaN\d*)",
    re.IGNORECASE,
)


def _dec_decimal(data: memoryview, pos: int) -> tuple[Any, int]:
    raw, pos = _read_len_bytes(data, pos, "a Decimal")
    text = raw.tobytes().decode("ascii", "replace")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise BlobFormatError(f"corrupt blob: {text[:40]!r} is not a Decimal")
    return decimal.Decimal(text), pos


def _dec_ndarray(data: memoryview, pos: int) -> tuple[Any, int]:
    return _decode_array(data, pos)


def _dec_numpy_scalar(data: memoryview, pos: int) -> tuple[Any, int]:
    array, pos = _decode_array(data, pos)
    if array.ndim != 0 or array.dtype.kind == "O":
        raise BlobFormatError("corrupt blob: a numpy scalar must be a 0-d array, not of objects")
    return array[()], pos


def _decode_array(data: memoryview, pos: int) -> tuple[np.ndarray, int]:
    raw, pos = _read_len_bytes(data, pos, "a dtype description")
    dtype = _dtype_from_text(raw.tobytes())
    if dtype.subdtype is not None:
        raise BlobFormatError(f"corrupt blob: an array cannot have the sub-array dtype {dtype}")
    ndim, pos = _read_varint(data, pos)
    if ndim > _MAX_NDIM:
        raise BlobFormatError(f"corrupt blob: an array with {ndim} dimensions")
    shape = []
    for _ in range(ndim):
        dim, pos = _read_varint(data, pos)
        shape.append(dim)
    count = 1
    for dim in shape:
        count *= dim
    shape = tuple(shape)
    if not dtype.hasobject:
        nbytes = count * dtype.itemsize
        end = pos + nbytes
        if end > len(data):
            _need(data, pos, nbytes, f"an array of shape {shape} and dtype {dtype}")
        if nbytes == 0:
            if count > len(data):  # zero-size items: refuse absurd element counts
                raise BlobFormatError(f"corrupt blob: an array of shape {shape} and dtype {dtype}")
            return np.zeros(shape, dtype), end
        # copy as bytes, then view: copying a structured array would skip its padding bytes
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=pos).copy()
        array = raw.view(dtype).reshape(shape)
        if dtype.kind in "UV":
            _check_text(array)
        return array, end
    if dtype.fields is None:  # object dtype
        if count > len(data) - pos:
            raise BlobFormatError(f"corrupt blob: an object array of shape {shape} is too short")
        flat = np.empty(count, dtype=object)
        for index in range(count):
            flat[index], pos = _decode_value(data, pos)
        return flat.reshape(shape), pos
    if count > len(data):
        raise BlobFormatError(f"corrupt blob: a structured array of shape {shape} is too short")
    array = np.zeros(shape, dtype)
    for name in dtype.names:
        field, pos = _decode_array(data, pos)
        target = array[name]
        if field.shape != target.shape or field.dtype != target.dtype:
            raise BlobFormatError(
                f"corrupt blob: field {name!r} is {field.dtype}{field.shape}, "
                f"expected {target.dtype}{target.shape}"
            )
        array[name] = field
    return array, pos


def _check_text(array: np.ndarray) -> None:
    """Refuse unicode elements that are not code points (numpy would fail on reading them)."""
    dtype = array.dtype
    if dtype.names is not None:
        for name in dtype.names:
            if dtype.fields[name][0].kind in "UV":
                _check_text(array[name])
    elif dtype.kind == "U" and array.size and dtype.itemsize:
        codes = np.ascontiguousarray(array).reshape(-1).view(
            np.dtype("u4").newbyteorder(dtype.byteorder))
        if codes.max() > 0x10FFFF:
            raise BlobFormatError("a unicode array holds an invalid code point (> U+10FFFF)")


# ---------------------------------------------------------------- dtype descriptions

_PLAIN_DTYPE = re.compile(
    r"[<>|](?:b1|[iu][1248]|f(?:2|4|8|10|12|16)|c(?:8|16|20|24|32)|O|[SUV]\d{1,9}"
    r"|[mM]8(?:\[\d{0,9}(?:Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?)"
)
_MAX_DTYPE_DEPTH = 32


@lru_cache(maxsize=512)
def _dtype_from_text(text: bytes) -> np.dtype:
    try:
        description = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BlobFormatError(f"corrupt blob: a dtype description is not JSON ({exc})") from None
    return _build_dtype(description, 0)


def _build_dtype(description: Any, depth: int) -> np.dtype:
    """Rebuild a dtype from data made by :func:`_describe_dtype`, checking every part."""
    if depth > _MAX_DTYPE_DEPTH:
        raise BlobFormatError("corrupt blob: dtype description nested too deeply")
    if isinstance(description, str):
        if not _PLAIN_DTYPE.fullmatch(description):
            raise BlobFormatError(f"corrupt blob: {description[:60]!r} is not a numpy dtype")
        return _plain_dtype(description)
    if isinstance(description, list) and description and description[0] == "sub" \
            and len(description) == 3:
        _, base, shape = description
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape) \
                or len(shape) > _MAX_NDIM:
            raise BlobFormatError(f"corrupt blob: bad sub-array shape {shape!r:.60}")
        base_dtype = _build_dtype(base, depth + 1)
        if base_dtype.fields is None and base_dtype.subdtype is None and base_dtype.itemsize \
                and _product(shape) * base_dtype.itemsize > 1 << 40:
            raise BlobFormatError("corrupt blob: sub-array dtype too large")
        return _make_dtype((base_dtype, tuple(shape)))
    if isinstance(description, list) and description and description[0] == "struct" \
            and len(description) == 4:
        _, itemsize, aligned, fields = description
        if not _is_count(itemsize) or not isinstance(aligned, bool) \
                or not isinstance(fields, list):
            raise BlobFormatError("corrupt blob: bad structured dtype description")
        names, formats, offsets, titles = [], [], [], []
        for field in fields:
            if not (isinstance(field, list) and len(field) == 4 and isinstance(field[0], str)
                    and _is_count(field[2]) and (field[3] is None or isinstance(field[3], str))):
                raise BlobFormatError(f"corrupt blob: bad structured dtype field {field!r:.60}")
            names.append(field[0])
            formats.append(_build_dtype(field[1], depth + 1))
            offsets.append(field[2])
            titles.append(field[3])
        spec: dict[str, Any] = {
            "names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize,
        }
        if any(title is not None for title in titles):
            spec["titles"] = titles
        return _make_dtype(spec, aligned)
    raise BlobFormatError(f"corrupt blob: {description!r:.60} is not a dtype description")


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 1 << 62


def _product(values: list[int]) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def _plain_dtype(text: str) -> np.dtype:
    dtype = _make_dtype(text)
    if dtype.str != text:
        raise BlobFormatError(f"corrupt blob: dtype {text!r} is not available here ({dtype.str})")
    return dtype


def _make_dtype(spec: Any, align: bool = False) -> np.dtype:
    try:
        return np.dtype(spec, align=align)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise BlobFormatError(f"corrupt blob: invalid dtype description ({exc})") from None


_DECODERS_BY_TAG: dict[int, Callable[[memoryview, int], tuple[Any, int]]] = {
    ord("N"): _dec_none,
    ord("T"): _dec_true,
    ord("F"): _dec_false,
    ord("i"): _dec_int,
    ord("f"): _dec_float,
    ord("c"): _dec_complex,
    ord("s"): _dec_str,
    ord("b"): _dec_bytes,
    ord("l"): _dec_list,
    ord("t"): _dec_tuple,
    ord("e"): _dec_set,
    ord("z"): _dec_frozenset,
    ord("d"): _dec_dict,
    ord("D"): _dec_datetime,
    ord("Y"): _dec_date,
    ord("H"): _dec_time,
    ord("E"): _dec_timedelta,
    ord("U"): _dec_uuid,
    ord("X"): _dec_decimal,
    ord("a"): _dec_ndarray,
    ord("g"): _dec_numpy_scalar,
}
