"""The codecs that ship with dj_jupyter.

``<blob>``: any Python or numpy value, serialised safely (never pickle) in the
table itself, or with ``<blob@store>`` as a content-addressed object in a store.
Store codecs (``<hash@>``, ``<attach>``/``<attach@>``, ``<npy@>``) live in
:mod:`.stored`; ``<object@>`` and ``<filepath@>`` in :mod:`.objects`; ``<zarr@>`` (arrays and
xarray objects as Zarr stores, fetched lazily as xarray) in :mod:`.zarr`, which imports zarr
and xarray only when a ``<zarr@>`` value is used.
"""

from __future__ import annotations

from typing import Any

from .base import Codec
from .blob import decode, encode
from .objects import FilepathCodec, ObjectCodec, ObjectRef
from .stored import AttachCodec, HashCodec, NpyCodec, NpyRef
from .zarr import ZarrCodec

__all__ = ["BlobCodec", "HashCodec", "AttachCodec", "NpyCodec", "NpyRef", "ObjectCodec",
           "FilepathCodec", "ObjectRef", "ZarrCodec"]


class BlobCodec(Codec):
    """``<blob>``: numpy arrays, scalars, strings, bytes, containers, dates, UUIDs, ...

    Written in DataJoint's format (the same bytes as DataJoint's ``pack``), so DataJoint
    reads it; read back as DataJoint reads it (a numpy scalar as a 0-d array, a unicode
    array as an object array, ...). Values that format cannot hold go to dj_jupyter's own
    format (see :mod:`.blob`). Large values are compressed only when that saves space.
    """

    name = "blob"

    def get_dtype(self, is_store: bool) -> str:
        return "<hash>" if is_store else "bytes"  # <blob@store>: content-addressed object

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> bytes:
        return encode(value)

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> Any:
        return decode(stored)
