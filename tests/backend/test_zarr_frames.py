"""Bytes read per frame of a ``<zarr@>`` array, counted on the store (a local folder and
moto's S3 server): a frame reads the chunks it touches — its own bytes rounded up to whole
chunks, plus chunk metadata — never the whole array, and equals numpy's frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display.arrays import as_source, frame_payload

from . import test_storage as _shared
from .readcount import bytes_read

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py

T, H, W = 8, 200, 300
CHUNKINGS = {"a frame per chunk": (1, H, W), "quarter frames, 2 deep": (2, H // 2, W // 2)}


def _chunk_rounded(chunks: tuple[int, ...], at: int, itemsize: int) -> int:
    """Bytes of the whole chunks a frame at time ``at`` touches (uncompressed)."""
    per_chunk = math.prod(chunks) * itemsize
    touched = math.ceil(H / chunks[1]) * math.ceil(W / chunks[2])
    return touched * per_chunk


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_zarr_frame_reads_its_chunks_only(schema, store, chunking):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("zarr")

    @schema
    class Field(dj.Manual):
        definition = """
        f: int32
        ---
        data: <zarr@>
        """

    stack = np.random.default_rng(5).normal(size=(T, H, W)).astype(np.float32)
    value = xr.DataArray(stack, dims=("time", "y", "x"), name="dff")
    value.encoding["chunks"] = CHUNKINGS[chunking]
    Field.insert1({"f": 1, "data": value})
    source = as_source((Field & {"f": 1}).fetch1("data"))
    frame_bytes = H * W * 4
    for at in (3, 6):
        with bytes_read(store) as count:
            meta, data = frame_payload(source, [1, 2], [at, 0, 0])
        step = meta["steps"][0]
        frame = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
        np.testing.assert_array_equal(frame, stack[at, ::step, ::step])
        bound = _chunk_rounded(CHUNKINGS[chunking], at, 4)
        assert frame_bytes * 0.5 < count.bytes <= 1.1 * bound + 16_384, (count.bytes, bound)
        assert count.bytes < stack.nbytes / 3  # never the whole array
