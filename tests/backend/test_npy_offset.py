"""``<npy@>`` records where the array's bytes start (``data_offset``), so that ``NpyRef``
reads a slice together with the .npy header: the first frame of a stack in one request on S3.
A slice read with the recorded offset equals the slice read after the header and numpy's
``np.load(..., mmap_mode="r")[index]``; a wrong offset (or an object rewritten outside
dj_jupyter) never changes what a read returns. Local folder and moto S3, every backend."""

from __future__ import annotations

import ast
import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dj_jupyter as dj
from dj_jupyter.display.arrays import as_source, frame_payload
from dj_jupyter.objects.codecs.npyslice import parse_header
from dj_jupyter.objects.codecs.stored import DATA_OFFSET, NpyRef

from . import test_storage as _shared
from .readcount import bytes_read

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py

SHAPES = [(37,), (20, 100), (6, 7, 9), (3, 4, 5, 6), (0, 5), (), (4, 3, 8)]
DTYPES = ["float64", "int16", ">u4", "float32", "int8", "complex64",
          "[('x', '<f4'), ('n', '<i2')]"]
FORTRAN = 2  # this one is stored Fortran-ordered: no offset is recorded for it


def _dtype(text: str) -> np.dtype:
    if text.startswith("["):
        return np.dtype([tuple(field) for field in ast.literal_eval(text)])
    return np.dtype(text)


def _values(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    numbers = np.arange(math.prod(shape)).reshape(shape)
    if dtype.names:
        values = np.zeros(shape, dtype)
        for name in dtype.names:
            values[name] = numbers
        return values
    return numbers.astype(dtype)


@pytest.fixture
def stored(schema, store):
    """The arrays as fetched NpyRefs, their metadata, and np.load memory maps of copies."""

    @schema
    class Arr(dj.Manual):
        definition = """
        a: int32
        ---
        arr: <npy@>
        """

    arrays = [_values(shape, _dtype(dtype)) for shape, dtype in zip(SHAPES, DTYPES)]
    arrays[FORTRAN] = np.asfortranarray(arrays[FORTRAN])
    Arr.insert([{"a": i, "arr": v} for i, v in enumerate(arrays)])
    refs = [(Arr & {"a": i}).fetch1("arr") for i in range(len(arrays))]
    folder = Path(tempfile.mkdtemp())
    mapped = []
    for i, ref in enumerate(refs):
        local = folder / f"{i}.npy"
        local.write_bytes(store.get_bytes(ref.path))
        mapped.append(np.load(local, mmap_mode="r"))
    return refs, mapped


def metadata(ref: NpyRef, offset: object = None) -> dict:
    """The row's description of ``ref``, with ``offset`` as its data offset (None: none)."""
    described = {"path": ref.path, "store": ref.store, "dtype": str(ref.dtype),
                 "shape": list(ref.shape)}
    return described if offset is None else {**described, DATA_OFFSET: offset}


def test_the_offset_recorded_is_the_header_length(stored, store):
    refs, _ = stored
    for i, ref in enumerate(refs):
        header = parse_header(store.get_bytes(ref.path)[:4096])
        assert header is not None and header.shape == ref.shape
        if i == FORTRAN:
            assert header.fortran and ref._offset_hint is None
        else:
            assert not header.fortran and ref._offset_hint == header.data_offset


def test_first_frame_is_one_request_and_the_slider_one_more(schema, store):
    @schema
    class Stack(dj.Manual):
        definition = """
        s: int32
        ---
        movie: <npy@>
        """

    movie = np.random.default_rng(3).random((6, 40, 64), dtype=np.float32)
    Stack.insert1({"s": 1, "movie": movie})
    ref = Stack.fetch1("movie")
    parse_header(store.get_bytes(ref.path, 0, 128))  # modules numpy imports on first use
    with bytes_read(store) as first:
        frame = ref[0]
    with bytes_read(store) as slider:
        other = ref[4]
    old = NpyRef(metadata(ref))  # as a value written without the offset (or by DataJoint)
    with bytes_read(store) as legacy:
        old_frame = old[0]
    for got, expected in [(frame, movie[0]), (other, movie[4]), (old_frame, movie[0])]:
        np.testing.assert_array_equal(got, expected)
    # the frame and the header (128 bytes); locally the count also has /proc/self/io's read
    assert movie[0].nbytes + 128 <= first.bytes <= movie[0].nbytes + 128 + 4096
    assert slider.bytes >= movie[4].nbytes
    if store.local_path("x") is None:
        assert first.bytes == movie[0].nbytes + 128 and slider.bytes == movie[4].nbytes
        assert first.calls["get_object"] == 1 and first.requests == 1
        assert slider.calls["get_object"] == 1
        assert legacy.calls["get_object"] == 2  # the header, then the frame
    fresh = Stack.fetch1("movie")
    with bytes_read(store) as payload:
        meta, data = frame_payload(as_source(fresh), [1, 2], [0, 0, 0])
    shown = np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])
    np.testing.assert_array_equal(shown, movie[0][::meta["steps"][0], ::meta["steps"][1]])
    if store.local_path("x") is None:
        assert payload.calls["get_object"] == 1


@st.composite
def case(draw):
    which = draw(st.integers(0, len(SHAPES) - 1))
    index = draw(hnp.basic_indices(SHAPES[which], min_dims=0, allow_newaxis=True,
                                   allow_ellipsis=True))
    return which, index


def _assert_same(got, expected) -> None:
    assert isinstance(got, np.ndarray) == isinstance(expected, np.ndarray)
    assert np.shape(got) == np.shape(expected) and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=case())
def test_with_and_without_the_offset_equals_numpy(stored, drawn):
    refs, mapped = stored
    which, index = drawn
    expected = mapped[which][index]
    with_offset = NpyRef(metadata(refs[which], refs[which]._offset_hint))
    without = NpyRef(metadata(refs[which]))
    _assert_same(with_offset[index], expected)
    _assert_same(without[index], expected)
    _assert_same(with_offset[index], expected)  # again, the header now known
    assert not with_offset.is_loaded and not without.is_loaded
    assert with_offset._offset_hint == refs[which]._offset_hint  # the header agreed with it


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=case(), offset=st.one_of(st.integers(-10, 1 << 21), st.sampled_from(
    [64, 192, 256, 1 << 20, True, "128", 128.0, None])))
def test_a_wrong_offset_never_changes_what_is_read(stored, drawn, offset):
    refs, mapped = stored
    which, index = drawn
    ref = NpyRef(metadata(refs[which], offset))
    _assert_same(ref[index], mapped[which][index])
    assert not ref.is_loaded


def _with_longer_header(array: np.ndarray) -> bytes:
    """``array`` as a valid .npy whose header is 64 bytes longer than np.save writes."""
    saved = io.BytesIO()
    np.save(saved, array, allow_pickle=False)
    data = saved.getvalue()
    header = parse_header(data)
    assert header is not None
    text = data[10:header.data_offset].rstrip(b"\n") + b" " * 64 + b"\n"
    return data[:8] + len(text).to_bytes(2, "little") + text + data[header.data_offset:]


def test_an_object_rewritten_outside_is_read_by_its_header(stored, store):
    """Same values, another header length: the recorded offset is refused, the data right."""
    refs, mapped = stored
    ref = refs[3]  # (3, 4, 5, 6) float32
    rewritten = _with_longer_header(np.asarray(mapped[3]))
    store.put_bytes(ref.path, rewritten)
    np.testing.assert_array_equal(np.load(io.BytesIO(rewritten)), mapped[3])
    fresh = NpyRef(metadata(ref, ref._offset_hint))
    np.testing.assert_array_equal(fresh[0], mapped[3][0])
    np.testing.assert_array_equal(fresh[2, 1:3], mapped[3][2, 1:3])
    assert fresh._layout == (ref._offset_hint + 64, False) and fresh._offset_hint is None
