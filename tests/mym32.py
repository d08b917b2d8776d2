"""A writer of MATLAB mym blobs for tests: the MATLAB subset (double matrices, char rows,
structs, cells), with counts and dimensions 8 bytes wide (today's format) or 4 (MATLAB's 32-bit
mym, which DataJoint reads only with ``dj.blob.use_32bit_dims``)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["mym_blob", "Struct"]


class Struct(dict):
    """A 1x1 MATLAB struct: field name -> value."""


def mym_blob(value: Any, width: int) -> bytes:
    """``mYm\\0`` and ``value``, every count, length and dimension ``width`` bytes wide."""
    return b"mYm\x00" + _value(value, width)


def _uint(number: int, width: int) -> bytes:
    return struct.pack("<Q" if width == 8 else "<I", number)


def _dims(shape: tuple[int, ...], width: int) -> bytes:
    return _uint(len(shape), width) + b"".join(_uint(n, width) for n in shape)


def _item(value: Any, width: int) -> bytes:
    body = _value(value, width)
    return _uint(len(body), width) + body


def _value(value: Any, width: int) -> bytes:
    if isinstance(value, str):  # a char row: UTF-16 code units
        return (b"A" + _dims((1, len(value)), width) + struct.pack("<II", 4, 0)
                + value.encode("utf-16-le"))
    if isinstance(value, Struct):
        names = b"".join(name.encode() + b"\x00" for name in value)
        return (b"S" + _dims((1, 1), width) + struct.pack("<I", len(value)) + names
                + b"".join(_item(field, width) for field in value.values()))
    if isinstance(value, list):  # a 1xN cell
        return b"C" + _dims((1, len(value)), width) + b"".join(_item(v, width) for v in value)
    matrix = np.asarray(value, "<f8")
    return (b"A" + _dims(matrix.shape, width) + struct.pack("<II", 6, 0)
            + matrix.tobytes(order="F"))
