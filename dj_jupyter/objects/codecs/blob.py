"""The bytes of a ``<blob>``: DataJoint's format by default, dj_jupyter's ``djb`` where it must.

:func:`encode` writes DataJoint's format (:mod:`.mympack`), so DataJoint reads every ``<blob>``
dj_jupyter writes and a ``<blob@>`` of either library has the same content hash; a value that
format cannot hold as it is (a time-zone aware datetime, a timedelta, a float16 array, ...;
listed in :mod:`.mympack`) goes to dj_jupyter's own ``djb`` format (:mod:`.blobformat`), which
DataJoint cannot read. :func:`decode` reads both, and DataJoint's compressed form, by their
header; anything else raises :class:`BlobFormatError` (a ``DataJointError``).

As ``dj.blob`` (DataJoint 2.x's module name) it offers ``pack(value, compress=True)`` (DataJoint's
format only), ``unpack(blob)`` and the MATLAB types ``MatCell`` and ``MatStruct`` (also ``dj.*``).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from . import blobformat, mym
from .blobformat import BlobFormatError
from .mym import MatCell, MatStruct
from .mympack import NotDataJoint, pack

__all__ = ["encode", "decode", "pack", "unpack", "BlobFormatError", "use_32bit_dims", "MatCell",
           "MatStruct"]

# DataJoint 2.x's switch for blobs of MATLAB's 32-bit mym (u32 counts and dimensions). Such a
# blob is read whatever it says, as it cannot be read as 64-bit; True only tries 32-bit first.
use_32bit_dims = False


def encode(value: Any) -> bytes:
    """The blob bytes of ``value``: DataJoint's format if it holds the value, else ``djb``.

    Raises ``TypeError`` for a value (or a part) neither format can store, and ``ValueError``
    for a structure nested too deeply or holding a reference cycle.
    """
    try:
        return pack(value)
    except NotDataJoint:
        return blobformat.encode(value)


def unpack(blob: bytes | bytearray | memoryview, squeeze: bool = False) -> Any:
    """DataJoint 2.x's ``dj.blob.unpack``: :func:`decode` (``squeeze`` is accepted for
    DataJoint's signature; values come back as they were packed)."""
    return decode(blob)


def decode(data: bytes | bytearray | memoryview) -> Any:
    """The value of blob bytes written by dj_jupyter or DataJoint (any version of either)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode expects bytes, got {type(data).__name__}")
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        try:
            view = view.cast("B")
        except TypeError as exc:
            raise BlobFormatError(f"cannot read the blob's buffer as bytes: {exc}") from None
    header = bytes(view[:len(mym.ZL123)])
    if not header.startswith((mym.MYM, mym.DJ0, mym.ZL123)):
        return blobformat.decode(view)
    try:
        return mym.unpack(view, (4, 8) if use_32bit_dims else (8, 4))
    except BlobFormatError:
        raise
    except RecursionError:
        raise BlobFormatError("corrupt blob: values are nested too deeply") from None
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error,
            zlib.error, MemoryError) as exc:
        # every check in mym should have fired first; this net keeps the promise anyway
        raise BlobFormatError(f"corrupt blob: {type(exc).__name__}: {exc}") from None
