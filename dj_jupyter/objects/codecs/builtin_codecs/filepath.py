"""``datajoint.builtin_codecs.filepath``: DataJoint 2.x's module name for ``FilepathCodec``."""

from __future__ import annotations

from ..objects import FilepathCodec

__all__ = ["FilepathCodec"]
