"""Array previews without a kernel: frames of in-memory arrays, colour range, PNG, errors."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dj_jupyter.display.arrays import (
    VIRIDIS,
    PreviewError,
    as_source,
    colormap_lut,
    first_frame_png,
    frame_payload,
    png_bytes,
    robust_range,
)


def read_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB PNG with filter 0 (what png_bytes writes), checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, 3)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3))))
def test_png_round_trips(rgb):
    np.testing.assert_array_equal(read_png(png_bytes(rgb)), rgb)


def test_lut_is_viridis_from_end_to_end():
    lut = colormap_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert lut[0].tolist() == [int(VIRIDIS[0][i:i + 2], 16) for i in (0, 2, 4)]
    assert lut[-1].tolist() == [int(VIRIDIS[-1][i:i + 2], 16) for i in (0, 2, 4)]
    with pytest.raises(PreviewError, match="viridis"):
        colormap_lut("jet")


def test_robust_range_ignores_outliers_and_nan():
    values = np.concatenate([np.linspace(0, 1, 1000), [1e9, -1e9, np.nan]]).astype(np.float32)
    low, high = robust_range(values)
    finite = values[np.isfinite(values)]
    assert (low, high) == tuple(float(v) for v in np.percentile(finite, [1, 99]))
    assert robust_range(np.full(4, np.nan)) == (0.0, 1.0)
    assert robust_range(np.full(4, 2.0)) == (2.0, 3.0)


@st.composite
def frames(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=9))
    axes = draw(st.permutations(range(len(shape))))[:2]
    at = [draw(st.integers(0, n - 1)) for n in shape]
    pixels = draw(st.integers(2, 10))
    return shape, list(axes), at, pixels


@settings(max_examples=80, deadline=None)
@given(frames())
def test_frame_equals_numpy(drawn):
    shape, axes, at, pixels = drawn
    array = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)
    meta, data = frame_payload(as_source(array), axes, at, max_pixels=pixels)
    step = meta["steps"][0]
    index = tuple(slice(None, None, step) if a in axes else at[a] for a in range(len(shape)))
    expected = array[index].astype(np.float32)
    if axes[0] > axes[1]:
        expected = expected.T
    got = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
    np.testing.assert_array_equal(got, expected)
    assert max(got.shape) <= pixels and meta["steps"] == [step, step]


def test_bad_frames_and_values_are_refused():
    source = as_source(np.zeros((3, 4, 5)))
    with pytest.raises(PreviewError, match="outside axis 0"):
        frame_payload(source, [1, 2], [3, 0, 0])
    with pytest.raises(PreviewError, match="distinct"):
        frame_payload(source, [1, 1], [0, 0, 0])
    with pytest.raises(PreviewError, match="one position per axis"):
        frame_payload(source, [1, 2], [0])
    with pytest.raises(PreviewError, match="numpy arrays"):
        as_source(object())
    with pytest.raises(PreviewError, match="Python objects"):
        as_source(np.array([{}, 1], dtype=object))


def test_first_frame_png_shows_the_colour_mapped_frame():
    array = np.tile(np.arange(64, dtype=np.float32), (32, 1))
    image = read_png(first_frame_png(as_source(array)))
    assert image.shape == (64, 128, 3)  # enlarged ×2 to be seen
    lut = colormap_lut()
    assert image[0, 0].tolist() == lut[0].tolist()  # low end of the range
    assert image[0, -1].tolist() == lut[-1].tolist()  # high end
    line = read_png(first_frame_png(as_source(np.sin(np.arange(1000) / 50))))
    assert line.shape[0] == 160 and (line != 255).any()
    assert first_frame_png(as_source(np.float64(3.0))) is None


def test_xarray_dims_and_coords_are_labels():
    xr = pytest.importorskip("xarray")
    value = xr.DataArray(np.zeros((2, 3, 4)), dims=("time", "y", "x"),
                         coords={"time": ["t0", "t1"], "x": [0.5, 1.5, 2.5, 3.5]}, name="dff")
    source = as_source(value)
    assert source.dims == ["time", "y", "x"] and source.name == "dff"
    assert source.coords == {"time": ["t0", "t1"], "x": [0.5, 1.5, 2.5, 3.5]}
    meta, _ = frame_payload(source, [1, 2], [1, 0, 0])
    assert (meta["height"], meta["width"]) == (3, 4)
    dataset = xr.Dataset({"a": value})
    assert as_source(dataset).dims == ["time", "y", "x"]
