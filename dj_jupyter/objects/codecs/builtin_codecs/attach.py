"""``datajoint.builtin_codecs.attach``: DataJoint 2.x's module name for ``AttachCodec``."""

from __future__ import annotations

from ..stored import AttachCodec

__all__ = ["AttachCodec"]
