"""What an array preview shows, computed without Jupyter: frames, lines, statistics, a PNG.

An :class:`ArraySource` gives one face to every kind of array value — a numpy array, a lazy
:class:`~dj_jupyter.objects.codecs.stored.NpyRef`, an xarray ``DataArray`` (a ``<zarr@>`` value,
read chunk by chunk), an ``ObjectRef`` holding an ``.npy`` or ``.zarr`` object or a PNG/JPEG
image (:mod:`.images`) — with its dims
and coordinates. Every read names the part it needs, so a frame of a stored array reads about
the bytes of that frame, never the whole array:

- :func:`frame_payload`: one 2-D frame (two chosen axes, an index on every other axis),
  decimated to at most ``max_pixels`` per side by strided reads, as float32 bytes plus a robust
  colour range (1st–99th percentile);
- :func:`line_payload`: a 1-D array as min/max per pixel column (read in chunks);
- :class:`StatsRun`: summary statistics computed chunk by chunk, with progress;
- :func:`first_frame_png`: the first frame as a PNG (numpy + zlib), a notebook's static picture.
"""

from __future__ import annotations

import ast
import math
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataJointError
from ..objects.codecs.npyslice import header_layout, read_range
from ..objects.codecs.objects import ObjectRef
from ..objects.codecs.stored import NpyRef
from ..objects.codecs.zarr import open_zarr, reading_store
from ..objects.stores import get_store
from .images import image_array, is_image

__all__ = ["ArraySource", "as_source", "frame_payload", "line_payload", "StatsRun",
           "first_frame_png", "colormap_lut", "png_bytes", "describe", "MAX_PIXELS",
           "PreviewError"]

MAX_PIXELS = 512  # a frame is decimated to at most this many pixels per side
LINE_WIDTH = 800  # pixel columns of a line plot
CHUNK_BYTES = 16 << 20  # what one read of a statistics or line pass takes at most
COORD_LABELS = 10_000  # coordinates longer than this are not sent as labels
# viridis (matplotlib's default colour map) at ten equal steps; interpolated to 256 entries
VIRIDIS = ["440154", "482878", "3e4989", "31688e", "26828e", "1f9e89", "35b779", "6ece58",
           "b5de2b", "fde725"]


class PreviewError(DataJointError):
    """A value that cannot be previewed as an array, or a frame request that does not fit."""


@dataclass
class ArraySource:
    """An array-like value with its shape, dtype, dims and coordinate labels; ``read`` takes
    a basic index and reads only what it needs."""

    value: Any
    kind: str
    shape: tuple[int, ...]
    dtype: np.dtype
    dims: list[str]
    coords: dict[str, list] = field(default_factory=dict)
    name: str = ""
    store: str | None = None  # None: the default store

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def remote(self) -> bool:
        """Whether reads are requests to a remote store (then a few large reads beat many
        small ones: a frame is read whole and decimated in memory)."""
        return self.kind == "npy" and get_store(self.store).local_path(self.value.path) is None

    def read(self, index: tuple) -> np.ndarray:
        if self.kind == "xarray":
            return np.asarray(self.value[index].values)
        return np.asarray(self.value[index])

    def meta(self) -> dict:
        """What the widget draws its controls from (JSON)."""
        return {"kind": self.kind, "shape": list(self.shape), "dtype": str(self.dtype),
                "dims": self.dims, "coords": self.coords, "name": self.name,
                "nbytes": self.nbytes, "store": self.store}


def as_source(value: Any) -> ArraySource:
    """The :class:`ArraySource` of ``value``; :class:`PreviewError` when it is no array."""
    if isinstance(value, ArraySource):
        return value
    if isinstance(value, NpyRef):
        return ArraySource(value, "npy", value.shape, value.dtype, _dims(value.ndim),
                           store=value.store)
    if isinstance(value, ObjectRef):
        return _object_source(value)
    module = type(value).__module__
    if module.startswith("xarray."):
        return _xarray_source(value)
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise PreviewError("an array of Python objects has no picture; preview one of "
                               "its elements")
        return ArraySource(array, "ndarray", array.shape, array.dtype, _dims(array.ndim))
    raise PreviewError(f"cannot preview a {type(value).__name__}: dj.preview shows numpy "
                       "arrays, <npy@> and <zarr@> values and .npy/.zarr objects")


def _dims(ndim: int) -> list[str]:
    return [f"axis {i}" for i in range(ndim)]


def _xarray_source(value: Any) -> ArraySource:
    if hasattr(value, "data_vars"):  # a Dataset: its first data variable
        names = list(value.data_vars)
        if not names:
            raise PreviewError("the Dataset has no data variables to preview")
        value = value[names[0]]
    dims = [str(d) for d in value.dims]
    coords = {}
    for dim in dims:
        if dim in value.coords and value.sizes[dim] <= COORD_LABELS:
            coords[dim] = [_label(v) for v in np.asarray(value.coords[dim].values).tolist()]
    return ArraySource(value, "xarray", tuple(int(n) for n in value.shape),
                       np.dtype(value.dtype), dims, coords, str(value.name or ""))


def _label(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)


def _object_source(ref: ObjectRef) -> ArraySource:
    path = ref.path.rstrip("/")
    if path.endswith(".npy") and not ref.is_dir:
        return as_source(npy_ref_of(ref))
    if is_image(path) and not ref.is_dir:
        array = image_array(ref.store, ref.path)
        dims = ["y", "x", "channel"][:array.ndim]
        return ArraySource(array, "ndarray", array.shape, array.dtype, dims,
                           name=path.rsplit("/", 1)[-1], store=ref.store)
    if path.endswith(".zarr"):
        return _zarr_object_source(ref)
    raise PreviewError(f"object {ref.path!r} is not an array (.npy file, .zarr folder or "
                       "PNG/JPEG image); "
                       "read it with ref.read() or ref.open()")


def _zarr_object_source(ref: ObjectRef) -> ArraySource:
    """A ``.zarr`` object: a group (written by xarray or zarr) opened as an xarray Dataset,
    its metadata kept as a ``<zarr@>`` value's is; a bare array (``zarr.open_array``) as is."""
    import zarr

    store = get_store(ref.store)
    try:
        return _xarray_source(open_zarr("dataset", store, ref.path))
    except zarr.errors.ContainsArrayError:
        root = zarr.open_array(reading_store(store, ref.path), mode="r")
    return ArraySource(root, "zarr", tuple(root.shape), np.dtype(root.dtype), _dims(root.ndim),
                       name=ref.path.rstrip("/").rsplit("/", 1)[-1], store=ref.store)


def npy_ref_of(ref: ObjectRef) -> NpyRef:
    """A lazy :class:`NpyRef` over an ``.npy`` object, from its header (one small read)."""
    store = get_store(ref.store)
    head = read_range(store, ref.path, 0, 128)
    start, length = header_layout(head)
    if start + length > len(head):
        head += read_range(store, ref.path, len(head), start + length)
    header = ast.literal_eval(head[start:start + length].decode("latin1"))
    npy = NpyRef({"path": ref.path, "store": ref.store, "dtype": header["descr"],
                  "shape": list(header["shape"])})
    npy._layout = (start + length, bool(header.get("fortran_order")))
    return npy


def describe(source: ArraySource) -> str:
    """One line: kind, shape, dtype and size (no I/O)."""
    shape = " × ".join(str(n) for n in source.shape) or "scalar"
    return f"{shape} {source.dtype} ({human_bytes(source.nbytes)})"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


# -- frames -----------------------------------------------------------------------------------
def default_axes(source: ArraySource) -> list[int]:
    return [source.ndim - 2, source.ndim - 1] if source.ndim >= 2 else [0]


def frame_index(source: ArraySource, axes: list[int], at: list[int],
                max_pixels: int = MAX_PIXELS) -> tuple[tuple, list[int]]:
    """The basic index of a frame and the decimation step of each displayed axis (the same
    for both, so that the picture keeps the array's aspect)."""
    if len(at) != source.ndim:
        raise PreviewError(f"a frame needs one position per axis ({source.ndim}), got {at}")
    if len(set(axes)) != len(axes) or any(not 0 <= a < source.ndim for a in axes):
        raise PreviewError(f"displayed axes {axes} must be distinct axes of the "
                           f"{source.ndim}-d array")
    index: list[Any] = []
    steps = []
    longest = max(source.shape[a] for a in axes)
    step = max(1, math.ceil(longest / max_pixels))  # one step for both: the aspect is kept
    for axis, n in enumerate(source.shape):
        if axis in axes:
            steps.append(step)
            index.append(slice(None, None, step))
        else:
            if not 0 <= at[axis] < n:
                raise PreviewError(f"position {at[axis]} is outside axis {axis} "
                                   f"(length {n})")
            index.append(int(at[axis]))
    return tuple(index), steps


def _as_float(data: np.ndarray) -> np.ndarray:
    if np.iscomplexobj(data):
        data = np.abs(data)
    return np.asarray(data, dtype=np.float32)


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """The 1st and 99th percentiles of the finite values (a colour range outliers do not
    wash out; from a regular sample of 65,536 values at most); (0, 1) when none is finite."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    if finite.size > 65_536:  # a regular sample sets the percentiles as well, much sooner
        finite = finite[:: finite.size // 65_536 + 1]
    low, high = np.percentile(finite, [1, 99])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def frame_payload(source: ArraySource, axes: list[int] | None = None,
                  at: list[int] | None = None,
                  max_pixels: int = MAX_PIXELS) -> tuple[dict, bytes]:
    """One 2-D frame: (description, float32 bytes in row order), reading only that frame
    (decimated rows only from a local store; the whole frame, in one request, from S3)."""
    axes = list(axes or default_axes(source))
    at = list(at if at is not None else [0] * source.ndim)
    if source.ndim < 2 or len(axes) != 2:
        raise PreviewError("a frame shows two axes of an array of two or more dimensions")
    index, steps = frame_index(source, axes, at, max_pixels)
    if source.remote and steps[0] > 1:  # one ranged read of the frame, not a read per row
        whole = tuple(slice(None) if isinstance(i, slice) else i for i in index)
        data = _as_float(source.read(whole)[::steps[0], ::steps[1]])
    else:
        data = _as_float(source.read(index))
    if axes[0] > axes[1]:
        data = data.T
        steps = steps[::-1]
    data = np.ascontiguousarray(data)
    low, high = robust_range(data)
    finite = data[np.isfinite(data)]
    meta = {"kind": "image", "height": int(data.shape[0]), "width": int(data.shape[1]),
            "steps": steps, "axes": axes, "at": at, "vmin": low, "vmax": high,
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None}
    return meta, data.tobytes()


def line_payload(source: ArraySource, width: int = LINE_WIDTH,
                 chunk_bytes: int = CHUNK_BYTES) -> tuple[dict, bytes]:
    """A 1-D array as min and max per pixel column (float32 ``[mins..., maxs...]``), read in
    chunks; short arrays are sent whole (mins = maxs = the values)."""
    if source.ndim != 1:
        raise PreviewError("a line plot shows a 1-d array")
    n = source.shape[0]
    if n <= 2 * width:
        values = _as_float(source.read((slice(None),))) if n else np.zeros(0, np.float32)
        mins = maxs = values
        edges = np.arange(n + 1)
    else:
        edges = np.linspace(0, n, width + 1).astype(np.int64)
        mins = np.empty(width, np.float32)
        maxs = np.empty(width, np.float32)
        per_chunk = max(1, chunk_bytes // max(source.dtype.itemsize, 1))
        first = 0
        while first < width:
            last = first + 1
            while last < width and edges[last + 1] - edges[first] <= per_chunk:
                last += 1
            data = _as_float(source.read((slice(int(edges[first]), int(edges[last])),)))
            starts = edges[first:last] - edges[first]
            with np.errstate(invalid="ignore"):
                mins[first:last] = np.fmin.reduceat(data, starts)
                maxs[first:last] = np.fmax.reduceat(data, starts)
            first = last
    finite = np.concatenate([mins, maxs])
    finite = finite[np.isfinite(finite)]
    meta = {"kind": "line", "points": int(len(mins)), "length": int(n),
            "edges": [int(edges[0]), int(edges[-1])],
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None}
    return meta, np.concatenate([mins, maxs]).astype(np.float32).tobytes()


# -- statistics ------------------------------------------------------------------------------
class StatsRun:
    """Summary statistics (count, NaNs, min, max, mean, std) of the whole array, computed
    chunk by chunk along the first axis; :meth:`step` works for a time budget and reports
    progress, so a large array never blocks the kernel for long."""

    def __init__(self, source: ArraySource, chunk_bytes: int = CHUNK_BYTES):
        self.source = source
        if source.ndim == 0:
            self.rows, self.per_chunk = 1, 1
        else:
            row_bytes = max(1, source.nbytes // max(source.shape[0], 1))
            self.rows, self.per_chunk = source.shape[0], max(1, chunk_bytes // row_bytes)
        self.done_rows = 0
        self.count = self.nans = 0
        self.total = self.squares = 0.0
        self.low = math.inf
        self.high = -math.inf

    @property
    def done(self) -> bool:
        return self.done_rows >= self.rows

    def step(self, seconds: float = 0.25) -> dict:
        """Work through at least one chunk, and more for about ``seconds``; the statistics
        so far."""
        started = time.perf_counter()
        while not self.done:
            self._add_chunk()
            if time.perf_counter() - started >= seconds:
                break
        return self.report()

    def _add_chunk(self) -> None:
        if self.source.ndim == 0:
            data = np.atleast_1d(self.source.read(()))
            stop = 1
        else:
            stop = min(self.rows, self.done_rows + self.per_chunk)
            data = self.source.read((slice(self.done_rows, stop),))
        values = _as_float(np.asarray(data)).astype(np.float64).ravel()
        finite = values[np.isfinite(values)]
        self.nans += int(np.isnan(values).sum())
        self.count += int(values.size)
        if finite.size:
            self.total += float(finite.sum())
            self.squares += float(np.square(finite).sum())
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))
        self.done_rows = stop

    def report(self) -> dict:
        finite = self.count - self.nans
        mean = self.total / finite if finite else None
        std = math.sqrt(max(self.squares / finite - mean * mean, 0.0)) \
            if finite and mean is not None else None
        return {"done": self.done, "progress": self.done_rows / self.rows if self.rows else 1.0,
                "count": self.count, "nans": self.nans, "mean": mean, "std": std,
                "min": self.low if finite else None, "max": self.high if finite else None}


# -- pictures --------------------------------------------------------------------------------
def colormap_lut(name: str = "viridis") -> np.ndarray:
    """A 256 × 3 uint8 lookup table of the colour map (viridis)."""
    if name != "viridis":
        raise PreviewError(f"unknown colour map {name!r}; use 'viridis'")
    anchors = np.array([[int(h[i:i + 2], 16) for i in (0, 2, 4)] for h in VIRIDIS], float)
    positions = np.linspace(0, 255, len(anchors))
    return np.stack([np.interp(np.arange(256), positions, anchors[:, c]) for c in range(3)],
                    axis=1).round().astype(np.uint8)


def colorize(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Float values to RGB through the colour map, ``low``…``high`` spanning it; NaN grey."""
    scaled = np.clip((values - low) / (high - low), 0, 1)
    codes = np.nan_to_num(scaled * 255, nan=0).astype(np.uint8)
    rgb = colormap_lut()[codes]
    rgb[~np.isfinite(values)] = (160, 160, 160)
    return rgb


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB (h × w × 3 uint8) image as PNG: the chunks written with zlib and crc32."""
    height, width = rgb.shape[:2]
    raw = np.concatenate([np.zeros((height, 1), np.uint8),
                          np.ascontiguousarray(rgb, np.uint8).reshape(height, width * 3)],
                         axis=1).tobytes()  # filter type 0 before every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def line_image(mins: np.ndarray, maxs: np.ndarray, height: int = 160) -> np.ndarray:
    """An RGB picture of a min/max line plot (white ground, one vertical stroke per column)."""
    width = max(len(mins), 1)
    rgb = np.full((height, width, 3), 255, np.uint8)
    finite = np.concatenate([mins, maxs])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return rgb
    low, high = float(finite.min()), float(finite.max())
    span = high - low or 1.0
    top = ((high - np.nan_to_num(maxs, nan=low)) / span * (height - 1)).astype(int)
    bottom = ((high - np.nan_to_num(mins, nan=low)) / span * (height - 1)).astype(int)
    rows = np.arange(height)[:, None]
    stroke = (rows >= top[None, :]) & (rows <= bottom[None, :])
    rgb[stroke] = (31, 119, 180)
    return rgb


def first_frame_png(source: ArraySource, max_pixels: int = 256) -> bytes | None:
    """The first frame (or the line) as a PNG, for the static fallback; None for a scalar or
    an empty array."""
    if source.ndim == 0 or source.size == 0:
        return None
    if source.ndim == 1:
        meta, data = line_payload(source, width=min(LINE_WIDTH, 400))
        values = np.frombuffer(data, np.float32)
        half = meta["points"]
        return png_bytes(line_image(values[:half], values[half:]))
    meta, data = frame_payload(source, max_pixels=max_pixels)
    values = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
    rgb = colorize(values, meta["vmin"], meta["vmax"])
    scale = max(1, 128 // max(values.shape))  # tiny frames are enlarged to be seen
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    return png_bytes(rgb)
