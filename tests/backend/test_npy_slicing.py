"""``NpyRef[index]`` equals numpy's ``np.load(path, mmap_mode="r")[index]`` for every basic
index, and reads about the bytes of the result, on a local folder and on S3 (moto), on every
database backend."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dj_jupyter as dj
from dj_jupyter.objects.codecs.stored import NpyRef

from . import test_storage as _shared
from .readcount import bytes_read

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py

SHAPES = [(37,), (20, 100), (6, 7, 9), (3, 4, 5, 6), (0, 5), (1,)]
DTYPES = ["float64", "int16", ">u4", "float32", "int8", "complex64"]


@pytest.fixture
def stored(schema, store):
    """Arrays of every shape (one Fortran-ordered) as NpyRefs, with local .npy copies."""

    @schema
    class Arr(dj.Manual):
        definition = """
        a: int32
        ---
        arr: <npy@>
        """

    arrays = []
    for i, (shape, dtype) in enumerate(zip(SHAPES, DTYPES)):
        values = np.arange(math.prod(shape)).astype(dtype).reshape(shape)
        arrays.append(np.asfortranarray(values) if i == 2 else values)
    Arr.insert([{"a": i, "arr": v} for i, v in enumerate(arrays)])
    refs = [(Arr & {"a": i}).fetch1("arr") for i in range(len(arrays))]
    folder = Path(tempfile.mkdtemp())
    mapped = []
    for i, ref in enumerate(refs):
        local = folder / f"{i}.npy"
        local.write_bytes(store.get_bytes(ref.path))
        mapped.append(np.load(local, mmap_mode="r"))
    return refs, mapped


def row_rounded_budget(array: np.ndarray, index) -> int:
    """1.5 × the result's bytes plus each innermost row it touches, read whole (computed
    from numpy on an array of element numbers, independently of the planner)."""
    result = array[index]
    if array.ndim < 2:
        rows = 0
    else:
        numbers = np.arange(array.size).reshape(array.shape)[index]
        rows = len(np.unique(np.asarray(numbers) // array.shape[-1]))
    row_bytes = array.shape[-1] * array.itemsize if array.ndim >= 2 else 0
    return int(1.5 * result.nbytes) + rows * row_bytes + 4096  # and one page


@st.composite
def case(draw):
    which = draw(st.integers(0, len(SHAPES) - 1))
    index = draw(hnp.basic_indices(SHAPES[which], min_dims=0, allow_newaxis=True,
                                   allow_ellipsis=True))
    return which, index


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=case())
def test_basic_indexing_equals_numpy_and_reads_little(stored, store, drawn):
    refs, mapped = stored
    which, index = drawn
    ref = NpyRef({"path": refs[which].path, "store": refs[which].store,
                  "dtype": refs[which].dtype.str, "shape": list(refs[which].shape)})
    ref._header()  # the header is read once per reference; count the slice alone
    expected = mapped[which][index]
    with bytes_read(store) as count:
        got = ref[index]
    assert isinstance(got, np.ndarray) == isinstance(expected, np.ndarray)  # scalar as numpy
    assert not ref.is_loaded
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    assert count.bytes <= row_rounded_budget(mapped[which], index)


def test_two_axis_slice_is_applied_on_both_axes(stored, store):
    refs, mapped = stored
    ref = refs[1]  # (20, 100)
    with bytes_read(store) as count:
        got = ref[10:12, :3]
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got, mapped[1][10:12, :3])
    assert count.bytes < 2 * 100 * 2 + 200  # two rows of int16 and the header, not the array


def test_out_of_range_raises_as_numpy(stored):
    refs, mapped = stored
    for index in [(20, 0), (0, -101), (0, 0, 0)]:
        with pytest.raises(IndexError) as ours:
            refs[1][index]
        with pytest.raises(IndexError) as theirs:
            mapped[1][index]
        assert type(ours.value) is type(theirs.value)
    assert not refs[1].is_loaded


def test_fancy_indexing_loads_and_equals_numpy(stored):
    refs, mapped = stored
    np.testing.assert_array_equal(refs[1][[3, 1], ::7], mapped[1][[3, 1], ::7])
    assert refs[1].is_loaded
    np.testing.assert_array_equal(refs[2][mapped[2] > 100], mapped[2][mapped[2] > 100])


def test_a_frame_of_a_stack_reads_about_the_frame(schema, store):
    """A 2-D frame of a (t, y, x) stack, along either pair of axes: ≤ 1.5 × its bytes plus
    row rounding."""

    @schema
    class Stack(dj.Manual):
        definition = """
        s: int32
        ---
        movie: <npy@>
        """

    movie = np.random.default_rng(1).random((16, 64, 256), dtype=np.float32)
    Stack.insert1({"s": 1, "movie": movie})
    ref = Stack.fetch1("movie")
    ref._header()
    for index in [(7,), (slice(None), 20), (-1, slice(3, 60, 2), slice(None, None, 4))]:
        with bytes_read(store) as count:
            frame = ref[index]
        np.testing.assert_array_equal(frame, movie[index])
        rows = math.prod(movie[index].shape[:-1]) if frame.ndim else 1
        assert count.bytes <= 1.5 * frame.nbytes + rows * 256 * 4 + 4096, index
        assert count.bytes >= frame.nbytes  # every element is read (the count works)
