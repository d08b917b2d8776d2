"""``datajoint.builtin_codecs`` for plugins written against DataJoint 2.x (through the alias,
:mod:`dj_jupyter.compat`): the built-in codec classes and ``SchemaCodec``, their base for
schema-addressed objects. Its submodules carry DataJoint's module names (``.schema``,
``.attach``, ``.filepath``, ``.hash``, ``.npy``, ``.object``), so that plugins importing
``from datajoint.builtin_codecs.schema import SchemaCodec`` load; the classes live elsewhere."""

from __future__ import annotations

from ..builtin import (
           AttachCodec,
           BlobCodec,
           FilepathCodec,
           HashCodec,
           NpyCodec,
           NpyRef,
           ObjectCodec,
)
from ..schema_codec import SchemaCodec, StoreBackend

__all__ = ["BlobCodec", "HashCodec", "SchemaCodec", "ObjectCodec", "AttachCodec",
           "FilepathCodec", "NpyCodec", "NpyRef", "StoreBackend"]
