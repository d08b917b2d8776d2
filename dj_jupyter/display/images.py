"""Image files in a store (``<object@>``, ``<filepath@>`` holding a PNG or JPEG) as table cells
and previews: their size from the file's header, a thumbnail from the file itself.

What a cell reads is bounded: the first ``HEADER_BYTES`` give the width and height; only a
file of at most ``THUMB_SOURCE_BYTES`` is read whole to draw a thumbnail. Both are cached
per file version (store, path, size, timestamp), so a page shown again reads nothing.
Decoding needs Pillow (``pip install 'dj-jupyter[notebook]'``); without it a cell shows
the size and format only.
"""

from __future__ import annotations

import base64
import functools
import io
import struct

import numpy as np

from ..objects.codecs.npyslice import read_range
from ..objects.stores import get_store

__all__ = ["IMAGE_EXTS", "HEADER_BYTES", "THUMB_SOURCE_BYTES", "is_image", "image_header",
           "image_cell", "image_array"]

IMAGE_EXTS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
HEADER_BYTES = 64 * 1024
THUMB_SOURCE_BYTES = 1024 * 1024  # files up to this size are read whole for a thumbnail
THUMB_PIXELS = 48
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def is_image(path: str) -> bool:
    """Whether the path names a PNG or JPEG file (by its extension)."""
    return _ext(path) in IMAGE_EXTS


def image_header(head: bytes) -> tuple[int, int, str] | None:
    """(width, height, format) from the start of a PNG or JPEG file; None if not found."""
    if head.startswith(_PNG_SIGNATURE) and len(head) >= 24 and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height, "png"
    if not head.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        length = struct.unpack(">H", head[at + 2:at + 4])[0]
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", head[at + 5:at + 9])
            return width, height, "jpeg"
        at += 2 + length
    return None


def image_cell(meta: dict) -> dict | None:
    """``{"text", "thumb"}`` for a stored image file (``thumb`` None when the file is too
    large or Pillow is missing); None when the file is not a readable PNG or JPEG."""
    size = meta.get("size")
    return _cached_cell(str(meta["store"]), str(meta["path"]),
                        None if size is None else int(size), str(meta.get("timestamp") or ""))


@functools.lru_cache(maxsize=1024)
def _cached_cell(store_name: str, path: str, size: int | None, stamp: str) -> dict | None:
    store = get_store(store_name)
    small = size is not None and size <= THUMB_SOURCE_BYTES
    data = read_range(store, path, 0, size if small and size is not None else HEADER_BYTES)
    found = image_header(data)
    if found is None:
        return None
    width, height, kind = found
    return {"text": f"image {width}×{height} {kind}",
            "thumb": _thumbnail(data) if small else None}


def _thumbnail(data: bytes) -> str | None:
    try:
        from PIL import Image  # optional: the notebook extra
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
            out = io.BytesIO()
            image.convert("RGBA" if "A" in image.getbands() else "RGB").save(out, "PNG")
    except (OSError, ValueError):  # a damaged file keeps its text
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def image_array(store_name: str | None, path: str) -> np.ndarray:
    """The decoded image as an array, (height, width) or (height, width, channel)."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("previewing an image needs Pillow: pip install "
                          "'dj-jupyter[notebook]'") from error
    data = get_store(store_name).get_bytes(path)
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def _ext(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return name[name.rfind("."):] if "." in name else ""
