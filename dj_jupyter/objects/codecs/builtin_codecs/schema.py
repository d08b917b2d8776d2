"""``datajoint.builtin_codecs.schema``: DataJoint 2.x's module name for
``SchemaCodec``, ``StoreBackend``."""

from __future__ import annotations

from ..schema_codec import SchemaCodec, StoreBackend

__all__ = ["SchemaCodec", "StoreBackend"]
