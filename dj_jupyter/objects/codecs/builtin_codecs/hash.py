"""``datajoint.builtin_codecs.hash``: DataJoint 2.x's module name for ``HashCodec``."""

from __future__ import annotations

from ..stored import HashCodec

__all__ = ["HashCodec"]
