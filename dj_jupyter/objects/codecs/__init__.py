"""Codecs: typed values stored through another type (``<blob>``, ...).

A codec is an encode/decode pair with the law ``decode(encode(x)) == x``; see
:mod:`.base` for the API and :mod:`.builtin` for the codecs that ship. Importing this package
registers the built-ins (the registry in :mod:`.base` never imports them back).
"""

from . import builtin  # noqa: F401, E402 - defining the built-in codecs registers them
from .base import (
           Codec,
           decoder_for,
           encoder_for,
           get_codec,
           is_codec_registered,
           list_codecs,
           referenced_paths,
           storage_spec,
           unregister_codec,
           uses_store,
)

__all__ = ["Codec", "get_codec", "list_codecs", "storage_spec", "encoder_for", "decoder_for",
           "uses_store", "referenced_paths", "is_codec_registered", "unregister_codec"]
