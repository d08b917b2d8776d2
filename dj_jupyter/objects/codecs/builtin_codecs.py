"""``datajoint.builtin_codecs`` for plugins written against DataJoint 2.x (through the alias,
:mod:`dj_jupyter.compat`): the built-in codec classes and ``SchemaCodec``, their base for
schema-addressed objects."""

from __future__ import annotations

from .builtin import (
           AttachCodec,
           BlobCodec,
           FilepathCodec,
           HashCodec,
           NpyCodec,
           NpyRef,
           ObjectCodec,
)
from .schema_codec import SchemaCodec, StoreBackend

__all__ = ["BlobCodec", "HashCodec", "SchemaCodec", "ObjectCodec", "AttachCodec",
           "FilepathCodec", "NpyCodec", "NpyRef", "StoreBackend"]
