"""``datajoint.builtin_codecs.object``: DataJoint 2.x's module name for
``ObjectCodec``, ``ObjectRef``."""

from __future__ import annotations

from ..objects import ObjectCodec, ObjectRef

__all__ = ["ObjectCodec", "ObjectRef"]
