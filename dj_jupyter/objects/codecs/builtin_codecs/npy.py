"""``datajoint.builtin_codecs.npy``: DataJoint 2.x's module name for ``NpyCodec``, ``NpyRef``."""

from __future__ import annotations

from ..stored import NpyCodec, NpyRef

__all__ = ["NpyCodec", "NpyRef"]
