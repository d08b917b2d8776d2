"""Image files in a store (``<object@>``, ``<filepath@>`` or ``<attach@>`` holding a PNG or JPEG)
as table cells and previews: their size from the file's header, a thumbnail from the file itself.

An ``<attach@>`` object is the file's name, a NUL byte, then the file: its cell reads the first
``NAME_BYTES`` for the name, and only when the name is an image's the header or the file.

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

__all__ = ["IMAGE_EXTS", "HEADER_BYTES", "THUMB_SOURCE_BYTES", "NAME_BYTES", "is_image",
           "image_header", "image_cell", "image_array", "attachment_cell", "attachment_image"]

IMAGE_EXTS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
HEADER_BYTES = 64 * 1024
THUMB_SOURCE_BYTES = 1024 * 1024  # files up to this size are read whole for a thumbnail
THUMB_PIXELS = 48
NAME_BYTES = 512  # the start of an <attach@> object read for the file's name (and more)
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


def attachment_cell(meta: dict) -> dict | None:
    """``{"name", "text", "thumb", "image"}`` for a stored ``<attach@>`` file (``<hash>``
    metadata: store, path, size): an image's size in pixels and thumbnail, or the file's
    name and type; None when the object is not an attachment."""
    size = meta.get("size")
    return _cached_attachment(str(meta["store"]), str(meta["path"]),
                              None if size is None else int(size))


@functools.lru_cache(maxsize=1024)
def _cached_attachment(store_name: str, path: str, size: int | None) -> dict | None:
    """(The path holds the content's hash: one entry per content, never stale.)"""
    store = get_store(store_name)
    head = read_range(store, path, 0, NAME_BYTES if size is None else min(size, NAME_BYTES))
    raw_name, found, rest = head.partition(b"\0")
    if not found:
        return None
    name = raw_name.decode("utf-8", errors="replace")
    start = len(raw_name) + 1
    described = {"name": name, "text": f"file {_ext(name) or name}".strip(), "thumb": None,
                 "image": False}
    if not is_image(name):
        return described
    length = None if size is None else size - start
    small = length is not None and length <= THUMB_SOURCE_BYTES
    wanted = length if small and length is not None else HEADER_BYTES
    data = rest if len(rest) >= wanted else read_range(store, path, start, start + wanted)
    header = image_header(data)
    if header is None:
        return described
    width, height, kind = header
    return {**described, "text": f"image {width}×{height} {kind}", "image": True,
            "thumb": _thumbnail(data) if small else None}


def attachment_image(meta: dict) -> tuple[str, np.ndarray]:
    """The file name and decoded image of a stored ``<attach@>`` PNG/JPEG (for the preview)."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("previewing an image needs Pillow: pip install "
                          "'dj-jupyter[notebook]'") from error
    data = get_store(meta.get("store")).get_bytes(meta["path"])
    raw_name, _, content = data.partition(b"\0")
    with Image.open(io.BytesIO(content)) as image:
        return raw_name.decode("utf-8", errors="replace"), np.asarray(image)


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
