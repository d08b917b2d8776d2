"""Array previews and array cells through real databases and stores (local folder, moto S3):
a frame reads about its own bytes, never the whole array; statistics come chunk by chunk;
table cells describe arrays from their stored metadata."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display.arrays import StatsRun, as_source, frame_payload, line_payload
from dj_jupyter.display.page import cell_value, page_of
from dj_jupyter.objects.codecs.stored import NpyRef

from . import test_storage as _shared
from .readcount import bytes_read

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py

T, H, W = 6, 300, 700  # a stack of frames; W > 512 so frames are decimated (step 2)


@pytest.fixture
def movie_table(schema, store):
    @schema
    class Movie(dj.Manual):
        definition = """
        m: int32
        ---
        stack: <npy@>
        trace = null: <npy@>
        raw = null: <blob>
        thing = null: <object@>
        """

    rng = np.random.default_rng(7)
    stack = rng.normal(size=(T, H, W)).astype(np.float32)
    trace = np.cumsum(rng.normal(size=50_000)).astype(np.float64)
    small = np.sin(np.arange(40) / 4)
    buffer = io.BytesIO()
    np.save(buffer, stack[0, :20, :30])
    Movie.insert([{"m": 1, "stack": stack, "trace": trace, "raw": small,
                   "thing": (".npy", buffer.getvalue())},
                  {"m": 2, "stack": stack[:, :10, :10], "trace": small}])
    return Movie, stack, trace, small


def _decoded(meta: dict, data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])


def test_a_frame_reads_about_its_bytes_and_equals_numpy(movie_table, store):
    Movie, stack, _, _ = movie_table
    ref = (Movie & {"m": 1}).fetch1("stack")
    source = as_source(ref)
    ref._header()
    frame_bytes = H * W * 4
    for at in ([3, 0, 0], [5, 0, 0]):  # the first frame, then the slider moved
        with bytes_read(store) as count:
            meta, data = frame_payload(source, [1, 2], at)
        step = meta["steps"][0]
        np.testing.assert_array_equal(_decoded(meta, data), stack[at[0], ::step, ::step])
        assert count.bytes <= 1.5 * frame_bytes
        assert count.bytes < stack.nbytes / 3  # never the whole array
    with bytes_read(store) as count:  # rows × time at a fixed column: strided reads
        meta, data = frame_payload(source, [0, 1], [0, 0, 123])
    np.testing.assert_array_equal(_decoded(meta, data), stack[:, :, 123])
    assert count.bytes <= 1.5 * T * H * 4 + T * H * W * 4 + 4096 and not ref.is_loaded
    if store.protocol == "file":  # cheap local reads: element by element, not every row
        assert count.bytes < stack.nbytes / 3
    lo, hi = np.percentile(stack[3, ::2, ::2], [1, 99])
    meta, _ = frame_payload(source, [1, 2], [3, 0, 0])
    assert math.isclose(meta["vmin"], lo, rel_tol=1e-5)
    assert math.isclose(meta["vmax"], hi, rel_tol=1e-5)


def test_transposed_axes_show_the_transposed_frame(movie_table):
    Movie, stack, _, _ = movie_table
    ref = (Movie & {"m": 2}).fetch1("stack")
    meta, data = frame_payload(as_source(ref), [2, 0], [0, 4, 0])
    np.testing.assert_array_equal(_decoded(meta, data), stack[:, 4, :10].T)


def test_line_is_min_max_per_pixel_column(movie_table, store):
    Movie, _, trace, _ = movie_table
    ref = (Movie & {"m": 1}).fetch1("trace")
    meta, data = line_payload(as_source(ref), width=500, chunk_bytes=64 * 1024)
    values = np.frombuffer(data, np.float32)
    edges = np.linspace(0, len(trace), 501).astype(int)
    np.testing.assert_allclose(values[:500], np.minimum.reduceat(trace, edges[:-1]), rtol=1e-6)
    np.testing.assert_allclose(values[500:], np.maximum.reduceat(trace, edges[:-1]),
                               rtol=1e-6)
    assert meta["points"] == 500 and meta["length"] == len(trace)


def test_statistics_come_chunk_by_chunk_with_progress(movie_table):
    Movie, stack, _, _ = movie_table
    run = StatsRun(as_source((Movie & {"m": 1}).fetch1("stack")), chunk_bytes=H * W * 4)
    progress = []
    while not run.done:
        progress.append(run.step(seconds=0)["progress"])  # one chunk per step
    assert progress == [(i + 1) / T for i in range(T)]
    report = run.report()
    assert report["count"] == stack.size and report["nans"] == 0
    assert math.isclose(report["mean"], float(stack.mean(dtype=np.float64)), abs_tol=1e-6)
    assert math.isclose(report["std"], float(stack.std(dtype=np.float64)), rel_tol=1e-6)
    assert (report["min"], report["max"]) == (float(stack.min()), float(stack.max()))


def test_an_object_holding_an_npy_previews(movie_table):
    Movie, stack, _, _ = movie_table
    thing = (Movie & {"m": 1}).fetch1("thing")
    source = as_source(thing)
    assert source.kind == "npy" and source.shape == (20, 30)
    meta, data = frame_payload(source)
    np.testing.assert_array_equal(_decoded(meta, data), stack[0, :20, :30])


def test_array_cells_describe_values_from_metadata(movie_table, store, monkeypatch):
    Movie, stack, trace, small = movie_table
    page_of(Movie)  # once first: imports read files too, and the local count sees them
    with bytes_read(store) as count:
        page = page_of(Movie)
    big, tiny = page.summaries["stack"]
    assert big["text"] == f"{T}×{H}×{W} float32" and big["spark"] is None
    assert tiny["thumb"].startswith("data:image/png;base64,")  # 6×10×10 floats: 2.3 KiB
    line, short = page.summaries["trace"]
    assert line["text"] == f"{len(trace)} float64" and line["spark"] is None
    assert short["spark"] is not None and len(short["spark"]) == len(small)
    assert max(short["spark"]) == 1.0 and min(short["spark"]) == 0.0
    raw = page.summaries["raw"]
    assert raw[0]["kind"] == "blob" and raw[0]["size"].endswith("B") and raw[1] is None
    assert page.summaries["thing"][0]["previewable"] and page.summaries["thing"][1] is None
    assert count.bytes < stack.nbytes / 10  # metadata and the small arrays, not the stack
    assert isinstance(cell_value(Movie, page, 0, "stack"), NpyRef)
    np.testing.assert_array_equal(cell_value(Movie, page, 0, "raw"), small)


def test_zarr_cells_and_previews_use_dims_and_coords(schema, store):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("zarr")

    @schema
    class Field(dj.Manual):
        definition = """
        f: int32
        ---
        data: <zarr@>
        """

    value = xr.DataArray(np.arange(60.0).reshape(3, 4, 5), dims=("time", "y", "x"),
                         coords={"time": [10, 20, 30]}, name="dff")
    Field.insert1({"f": 1, "data": value})
    page = page_of(Field)
    (cell,) = page.summaries["data"]
    assert cell["text"] == "time=3×y=4×x=5 float64" and cell["size"] == "480 B"
    source = as_source(cell_value(Field, page, 0, "data"))
    assert source.dims == ["time", "y", "x"] and source.coords == {"time": [10, 20, 30]}
    meta, data = frame_payload(source, [0, 2], [0, 2, 0])
    np.testing.assert_array_equal(_decoded(meta, data), value.values[:, 2, :])


def test_an_object_holding_a_bare_zarr_array_previews_frame_by_frame(schema, store):
    """A ``.zarr`` object written with ``zarr.open_array`` (no group, no xarray metadata), as
    a staged insert writes one, previews like any array."""
    zarr = pytest.importorskip("zarr")

    @schema
    class Video(dj.Manual):
        definition = """
        v: int32
        ---
        video: <object@>
        """

    frames = np.arange(4 * 6 * 8, dtype=np.float32).reshape(4, 6, 8)
    with Video.staged_insert1 as staged:
        staged.rec["v"] = 1
        array = zarr.open_array(store=staged.store("video", ".zarr"), mode="w",
                                shape=frames.shape, chunks=(1, 6, 8), dtype="float32")
        array[:] = frames
    source = as_source((Video & {"v": 1}).fetch1("video"))
    assert (source.kind, source.shape, source.dtype) == ("zarr", (4, 6, 8), np.float32)
    meta, data = frame_payload(source, [1, 2], [3, 0, 0])
    np.testing.assert_array_equal(_decoded(meta, data), frames[3])
