"""Basic indexing of a stored ``.npy`` object by ranged reads: numpy's semantics, few bytes.

numpy itself resolves the index: it is applied to a *placeholder* array that has the stored
array's shape and byte strides but no data (zero-strided over one byte, never read). The view
numpy returns names exactly which bytes the result holds — its offset, shape and strides — with
numpy's own rules and errors for ints (negative too), slices (steps, negative bounds), ``...``
and ``None``. :func:`plan_reads` turns that view into a few ranged reads, choosing how many
axes to read as whole spans so that the bytes read stay within :func:`read_budget` (1.5 × the
result plus whole innermost rows) while the number of requests stays small.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["is_basic_index", "locate", "plan_reads", "read_budget", "read_slice", "ReadPlan",
           "header_layout", "read_range", "fetch_plan", "shape_result", "parse_header",
           "NpyHeader"]

SLACK = 4096  # bytes a plan may read beyond the budget (one page)


def is_basic_index(index: Any) -> bool:
    """Whether ``index`` uses only ints, slices, ``...`` and ``None`` (no fancy indexing)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(_is_basic_item(item) for item in items)


def _is_basic_item(item: Any) -> bool:
    if item is None or item is Ellipsis or isinstance(item, slice):
        return True
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


@dataclass(frozen=True)
class Located:
    """Where a basic-indexing result lies in the stored data: numpy's view, in bytes."""

    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    scalar: bool = False  # numpy gives a scalar, not a 0-d array (every axis an int)


def locate(shape: tuple[int, ...], itemsize: int, fortran: bool, index: Any) -> Located:
    """Offset (from the data start), shape and byte strides of ``array[index]``, by numpy's
    rules (numpy raises IndexError exactly as it would on the real array)."""
    strides = _strides(shape, itemsize, fortran)
    placeholder = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=shape,
                                                  strides=strides, writeable=False)
    items = index if isinstance(index, tuple) else (index,)
    has_ellipsis = any(item is Ellipsis for item in items)
    # a trailing ``...`` changes nothing but keeps numpy from reading a scalar out of the
    # placeholder (its memory is one byte): the result is always a view
    view = placeholder[items if has_ellipsis else (*items, Ellipsis)]
    offset = view.__array_interface__["data"][0] - placeholder.__array_interface__["data"][0]
    return Located(int(offset), tuple(view.shape), tuple(view.strides),
                   scalar=view.ndim == 0 and not has_ellipsis)


def _strides(shape: tuple[int, ...], itemsize: int, fortran: bool) -> tuple[int, ...]:
    strides, step = [], itemsize
    for n in (shape if fortran else reversed(shape)):
        strides.append(step)
        step *= max(n, 1)
    return tuple(strides) if fortran else tuple(reversed(strides))


@dataclass(frozen=True)
class ReadPlan:
    """Ranged reads (``starts``, each ``span`` bytes, relative to the data start) and the
    strides that lay the read bytes out as the result."""

    starts: list[int]
    span: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # of the result within the concatenated reads
    flipped: tuple[int, ...]  # axes to reverse afterwards (negative steps)
    scalar: bool = False

    @property
    def nbytes(self) -> int:
        return len(self.starts) * self.span


def read_budget(shape: tuple[int, ...], itemsize: int, located: Located) -> int:
    """The most bytes a read of ``located`` may take: 1.5 × the result plus every innermost
    row it touches read whole (row rounding), plus a small block."""
    count = math.prod(located.shape)
    row_bytes = shape[-1] * itemsize if len(shape) >= 2 else itemsize
    per_row = math.prod(n for n, s in zip(located.shape, located.strides)
                        if n > 1 and 0 < abs(s) < row_bytes) if len(shape) >= 2 else 1
    rows = count // max(per_row, 1)
    return int(1.5 * count * itemsize) + rows * row_bytes + SLACK


def plan_reads(shape: tuple[int, ...], itemsize: int, located: Located,
               request_cost: int) -> ReadPlan:
    """The cheapest plan within the budget: bytes read plus ``request_cost`` per request."""
    result_shape = located.shape
    offset, strides, flipped = located.offset, list(located.strides), []
    for axis, (n, s) in enumerate(zip(result_shape, strides)):
        if n > 1 and s < 0:  # read ascending, reverse afterwards
            offset += (n - 1) * s
            strides[axis] = -s
            flipped.append(axis)
    real = sorted((axis for axis, n in enumerate(result_shape) if n > 1 and strides[axis] > 0),
                  key=lambda axis: -strides[axis])
    budget = read_budget(shape, itemsize, located)
    best = None
    for split in range(len(real) + 1):
        outer, inner = real[:split], real[split:]
        span = sum((result_shape[a] - 1) * strides[a] for a in inner) + itemsize
        requests = math.prod(result_shape[a] for a in outer)
        total = requests * span
        if total > budget and split < len(real):
            continue
        cost = total + requests * request_cost
        if best is None or cost < best[0]:
            best = (cost, outer, span)
    _, outer, span = best  # type: ignore[misc]  # the finest split always qualifies
    starts = _outer_starts(offset, [result_shape[a] for a in outer], [strides[a] for a in outer])
    layout = [0] * len(result_shape)
    step = span
    for axis in reversed(outer):
        layout[axis] = step
        step *= result_shape[axis]
    for axis in real:
        if axis not in outer:
            layout[axis] = strides[axis]
    return ReadPlan(starts, span, tuple(result_shape), tuple(layout), tuple(flipped),
                    located.scalar)


def _outer_starts(offset: int, counts: list[int], strides: list[int]) -> list[int]:
    starts = np.full(1, offset, dtype=np.int64)
    for n, s in zip(counts, strides):
        starts = (starts[:, None] + np.arange(n, dtype=np.int64)[None, :] * s).ravel()
    return starts.tolist()


def read_slice(store: Any, path: str, data_offset: int, dtype: np.dtype,
               plan: ReadPlan) -> np.ndarray:
    """Carry out ``plan`` on the object and shape the bytes as the result."""
    if math.prod(plan.shape) == 0:
        return np.empty(plan.shape, dtype)
    _, buffer = fetch_plan(store, path, data_offset, plan)
    return shape_result(buffer, dtype, plan)


def fetch_plan(store: Any, path: str, data_offset: int, plan: ReadPlan, head: bool = False,
               merge_gap: int = 0) -> tuple[bytes, np.ndarray]:
    """The bytes of ``plan`` (as one buffer) and, with ``head``, the object's first
    ``data_offset`` bytes (its .npy header) read in the same batch: on a remote store the
    header joins the first ranged read when fewer than ``merge_gap`` bytes lie between them
    (the first frame of a stack: one GET), else it is one more range of the same
    concurrent batch. An object shorter than the plan raises ``OSError``."""
    buffer = np.empty(plan.nbytes, np.uint8)  # not zero-filled: every byte is read into it
    starts = [data_offset + s for s in plan.starts]
    local = store.local_path(path)
    if local is not None:
        return _pread_all(local, starts, plan.span, buffer, data_offset if head else 0), buffer
    full = store.full_path(path)
    ends = [s + plan.span for s in starts]
    merged = head and starts[0] - data_offset <= merge_gap  # starts[0] is the lowest start
    if merged:
        starts[0] = 0
    elif head:
        starts, ends = [0, *starts], [data_offset, *ends]
    pieces = store.fs.cat_ranges([full] * len(starts), starts, ends, on_error="raise")
    for piece in pieces:
        if isinstance(piece, Exception):
            raise piece
    header = b""
    if merged:
        first = pieces[0]
        header, pieces[0] = first[:data_offset], first[len(first) - plan.span:]
        if len(first) != ends[0]:
            raise OSError(f"{path} is shorter than its .npy header says")
    elif head:
        header, pieces = pieces[0], pieces[1:]
    view = memoryview(buffer).cast("B")  # type: ignore[arg-type]  # numpy is a buffer
    for i, piece in enumerate(pieces):
        if len(piece) != plan.span:
            raise OSError(f"{path} is shorter than its .npy header says")
        view[i * plan.span:(i + 1) * plan.span] = piece
    return header, buffer


def shape_result(buffer: np.ndarray, dtype: np.dtype, plan: ReadPlan) -> Any:
    """The result of ``plan`` from the bytes :func:`fetch_plan` read (numpy's scalar for an
    all-int index, a contiguous array otherwise)."""
    result = np.ndarray(plan.shape, dtype, buffer=buffer, strides=plan.strides)
    if plan.flipped:
        flip = [slice(None)] * len(plan.shape)
        for axis in plan.flipped:
            flip[axis] = slice(None, None, -1)
        result = result[tuple(flip)]
    return result[()] if plan.scalar else np.ascontiguousarray(result) if result.ndim else result


def _pread_all(local: Any, starts: list[int], span: int, buffer: np.ndarray,
               head: int = 0) -> bytes:
    """Positioned reads of a local file, exactly the bytes asked for (no read-ahead); the
    file's first ``head`` bytes are returned."""
    view = memoryview(buffer).cast("B")  # type: ignore[arg-type]  # numpy is a buffer
    descriptor = os.open(local, os.O_RDONLY)
    try:
        header = os.pread(descriptor, head, 0) if head else b""
        for i, start in enumerate(starts):
            chunk = view[i * span:(i + 1) * span]
            got = os.preadv(descriptor, [chunk], start)
            if got != span:
                raise OSError(f"{local} is shorter than its .npy header says")
    finally:
        os.close(descriptor)
    return header


def read_range(store: Any, path: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of the object (fewer at its end); a local file is read with one
    positioned read, without a buffered reader's read-ahead."""
    local = store.local_path(path)
    if local is None:
        return store.get_bytes(path, start, end)
    try:
        descriptor = os.open(local, os.O_RDONLY)
    except FileNotFoundError:
        return store.get_bytes(path, start, end)  # raises the error naming the missing object
    try:
        return os.pread(descriptor, end - start, start)
    finally:
        os.close(descriptor)


def header_layout(head: bytes) -> tuple[int, int]:
    """(length of the fixed preamble, length of the header text) of a ``.npy`` object."""
    if head[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy object")
    if head[6] == 1:
        return 10, int.from_bytes(head[8:10], "little")
    return 12, int.from_bytes(head[8:12], "little")


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: where the data starts, and the array it holds."""

    data_offset: int
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype


def parse_header(head: bytes) -> NpyHeader | None:
    """The header at the start of ``head`` (numpy's own parser, format 1.0 or 2.0), or None
    when ``head`` does not hold a whole header numpy reads."""
    stream = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            return None
    except (ValueError, SyntaxError, KeyError, TypeError):
        return None
    return NpyHeader(stream.tell(), tuple(shape), bool(fortran), np.dtype(dtype))
