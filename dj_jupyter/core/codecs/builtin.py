"""The codecs that ship with dj_jupyter.

``<blob>``: any Python or numpy value, serialised safely (never pickle) in the
table itself. Object-store codecs (``<blob@store>``, ``<attach>``, ``<hash@>``,
``<object@>``, ``<npy@>``, ``<zarr@>``, ``<filepath@>``) come with object
storage.
"""

from __future__ import annotations

from typing import Any

from ...errors import DefinitionError
from .base import Codec

__all__ = ["BlobCodec"]


class BlobCodec(Codec):
    """``<blob>``: numpy arrays, scalars, strings, bytes, containers, dates, UUIDs, ...

    Law: ``decode(encode(x)) == x`` (arrays keep dtype and shape). Large values are
    compressed only when that saves space.
    """

    name = "blob"

    def get_dtype(self, is_store: bool) -> str:
        if is_store:
            raise DefinitionError("<blob@store> keeps blobs in an object store, which this "
                                  "version does not provide yet; use <blob> (in the table)")
        return "bytes"

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None) -> bytes:
        from .blobformat import encode

        return encode(value)

    def decode(self, stored: Any, *, key: dict | None = None) -> Any:
        from .blobformat import decode

        return decode(stored)
