"""Array cells of a table display: what each array value is, from what the column already says.

For every ``<blob>``, ``<npy@>``, ``<zarr@>`` and ``<object@>`` column of a page, one summary
per row — shape, dtype and size — taken from the stored column only: the JSON metadata of
``<npy@>``/``<zarr@>``/``<object@>``/``<blob@>`` values and, for an in-table ``<blob>``, the
byte length the database reports (``LENGTH``; the blob itself is not transferred, its value
comes on demand, when the cell is opened). Nothing else is read, except that ``<npy@>``
arrays of at most ``SMALL_BYTES`` are read to draw a sparkline (1-D) or a thumbnail (2-D);
when the store cannot be read, the cell keeps its text.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..objects.codecs.objects import ObjectRef
from ..objects.codecs.stored import NpyRef
from ..query.fetch import raw_rows
from .arrays import colorize, human_bytes, png_bytes, robust_range
from .images import attachment_cell, image_cell, is_image

__all__ = ["array_columns", "summarize", "value_summary", "ARRAY_CODECS", "SMALL_BYTES",
           "LENGTH_PREFIX", "sparkline_svg", "stored_meta"]

ARRAY_CODECS = ("blob", "npy", "zarr", "object", "filepath")
SMALL_BYTES = 4096  # arrays this small get a sparkline or thumbnail
SPARK_POINTS = 48
THUMB_PIXELS = 32
LENGTH_PREFIX = "dj_len_"  # computed columns: byte length of an in-table blob


def array_columns(heading: Any) -> list[str]:
    """The columns whose values may be arrays or images (shown as array cells): stored
    ``<attach@>`` files too (an image among them gets a thumbnail)."""
    return [n for n in heading.names if heading[n].codec in ARRAY_CODECS
            or (heading[n].codec == "attach" and heading[n].store is not None)]


def summarize(query: Any, names: list[str], order: list[str] | None, offset: int,
              limit: int) -> dict[str, list[dict | None]]:
    """A summary per row of the window for each array column in ``names`` (None for NULL)."""
    if not names:
        return {}
    heading = query.heading
    in_table = [n for n in names if heading[n].store is None]
    extra = {LENGTH_PREFIX + name: f"LENGTH({name})" for name in in_table}
    measured = query.proj(..., **extra) if extra else query
    stored = [n for n in names if n not in in_table]
    columns = [*stored, *extra]
    data = raw_rows(measured, columns, order_by=order, limit=limit, offset=offset or None)
    by_name = {c: [row[i] for row in data] for i, c in enumerate(columns)}
    result: dict[str, list[dict | None]] = {}
    for name in names:
        attribute = heading[name]
        if name in in_table:
            result[name] = [None if length is None else _cell("blob", "blob", int(length), True)
                            for length in by_name[LENGTH_PREFIX + name]]
        else:
            result[name] = [_stored_cell(attribute.codec, _json(v)) for v in by_name[name]]
    return result


def value_summary(value: Any) -> dict | None:
    """The summary of a fetched array value (a numpy array, an ``NpyRef``, an ``ObjectRef``,
    or anything with ``shape`` and ``dtype``, e.g. zarr or xarray), as an array cell shows it;
    None for other values. Reads nothing: only arrays already in memory get a picture."""
    if isinstance(value, NpyRef):
        return _cell("npy", f"{_shape_text(value.shape)} {value.dtype}", value.nbytes, True)
    if isinstance(value, np.ndarray):
        cell = _cell("blob", f"{_shape_text(value.shape)} {value.dtype}", value.nbytes, True)
        if value.nbytes <= SMALL_BYTES:
            cell.update(_picture(value))
        return cell
    if isinstance(value, ObjectRef):
        return _stored_cell("object", value.to_json())
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if isinstance(shape, tuple) and dtype is not None:
        size = getattr(value, "nbytes", None)
        return _cell("zarr", f"{_shape_text(shape)} {dtype}",
                     int(size) if size is not None else None, True)
    return None


def stored_meta(value: Any) -> dict | None:
    """A stored column's raw value (JSON text, bytes or a dict) as its metadata dict."""
    return _json(value)


def _json(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode()
    return json.loads(value) if isinstance(value, str) else dict(value)


def _shape_text(shape: list[int] | tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _stored_cell(codec: str, meta: dict | None) -> dict | None:
    if meta is None:
        return None
    if codec == "npy":
        ref = NpyRef(meta)
        cell = _cell("npy", f"{_shape_text(ref.shape)} {ref.dtype}", ref.nbytes, True)
        if 0 < ref.nbytes <= SMALL_BYTES:
            try:
                cell.update(_picture(ref.load()))
            except Exception:  # noqa: BLE001 - an unreadable store leaves the text
                pass
        return cell
    if codec == "zarr":
        if meta.get("kind") == "dataset":
            dims = ", ".join(f"{k}: {v}" for k, v in meta.get("dims", {}).items())
            text = f"Dataset ({dims}) {len(meta.get('variables', []))} variables"
        else:
            names = meta.get("dims") or []
            shape = meta.get("shape") or []
            named = "×".join(f"{d}={n}" for d, n in zip(names, shape)) or _shape_text(shape)
            text = f"{named} {np.dtype(meta['dtype']) if meta.get('dtype') else ''}".strip()
        return _cell("zarr", text, meta.get("nbytes"), True)
    if codec == "attach":
        return _attachment_cell(meta)
    if codec in ("object", "filepath"):
        path = str(meta.get("path", "")).rstrip("/")
        if not meta.get("is_dir") and is_image(path):
            return _image_cell(codec, meta)
        ext = meta.get("ext") or PurePosixPath(path).suffix
        is_array = path.endswith((".npy", ".zarr"))
        kind = "folder" if meta.get("is_dir") else "file"
        return _cell("object", f"{kind} {ext}".strip(), meta.get("size"), is_array)
    return _cell(codec, "stored blob", meta.get("size"), True)  # <blob@>: size from <hash@>


def _image_cell(codec: str, meta: dict) -> dict:
    """A PNG/JPEG file: its size in pixels and a thumbnail (bounded reads, cached)."""
    try:
        image = image_cell(meta)
    except (OSError, ValueError):  # an unreadable store leaves the file's text
        image = None
    if image is None:
        return _cell(codec, f"file {PurePosixPath(meta['path']).suffix}", meta.get("size"),
                     False)
    cell = _cell(codec, image["text"], meta.get("size"), True)
    cell["thumb"] = image["thumb"]
    return cell


def _attachment_cell(meta: dict) -> dict:
    """An ``<attach@>`` file: its name, and for a PNG/JPEG its size in pixels and thumbnail."""
    try:
        found = attachment_cell(meta)
    except (OSError, ValueError):  # an unreadable store leaves the size alone
        found = None
    if found is None:
        return _cell("attach", "file", meta.get("size"), False)
    cell = _cell("attach", found["text"], meta.get("size"), found["image"])
    cell["thumb"] = found["thumb"]
    cell["name"] = found["name"]
    return cell


def _cell(kind: str, text: str, size: int | None, previewable: bool) -> dict:
    return {"kind": kind, "text": text, "size": human_bytes(size) if size is not None else "",
            "previewable": previewable, "spark": None, "thumb": None}


def _picture(array: np.ndarray) -> dict:
    """A sparkline (1-D: up to 48 points scaled to 0…1) or a thumbnail (2-D, or the first
    frame of N-D: a PNG)."""
    if array.dtype.kind not in "biuf" or array.size < 2:
        return {}
    values = np.asarray(array, dtype=np.float64)
    squeezed = values.squeeze()
    if squeezed.ndim == 1:
        step = max(1, math.ceil(squeezed.size / SPARK_POINTS))
        points = squeezed[::step]
        finite = points[np.isfinite(points)]
        if finite.size == 0:
            return {}
        low, high = float(finite.min()), float(finite.max())
        span = high - low or 1.0
        return {"spark": [None if not np.isfinite(v) else round((v - low) / span, 3)
                          for v in points.tolist()]}
    if squeezed.ndim > 2:  # the first frame
        squeezed = squeezed[(0,) * (squeezed.ndim - 2)]
    if squeezed.ndim == 2:
        step = max(1, math.ceil(max(squeezed.shape) / THUMB_PIXELS))
        frame = squeezed[::step, ::step].astype(np.float32)
        low, high = robust_range(frame)
        rgb = colorize(frame, low, high)
        scale = max(1, 16 // max(frame.shape))
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
        return {"thumb": "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode()}
    return {}


def sparkline_svg(points: list[float | None], width: int = 60, height: int = 16) -> str:
    """An inline SVG polyline of a sparkline (for the static HTML)."""
    n = len(points)
    coords = []
    for i, v in enumerate(points):
        if v is None:
            continue
        x = i * (width - 1) / max(n - 1, 1)
        y = (1 - v) * (height - 2) + 1
        coords.append(f"{x:.1f},{y:.1f}")
    return (f'<svg class="dj-spark" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-hidden="true"><polyline fill="none" '
            f'stroke="#1f77b4" stroke-width="1" points="{" ".join(coords)}"/></svg>')
