"""Blobs of MATLAB's 32-bit mym (u32 counts and dimensions) read as their 64-bit twins.

The law: for every MATLAB value, the 32-bit and the 64-bit bytes decode to the same thing, with
``dj.blob.use_32bit_dims`` on or off (DataJoint reads the 32-bit ones only with it on), and a
blob that is neither still raises BlobFormatError naming the 64-bit reading's fault.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dj_jupyter.objects.codecs import blob
from dj_jupyter.objects.codecs.blob import BlobFormatError, decode
from dj_jupyter.objects.codecs.mym import MatCell, MatStruct
from tests.mym32 import Struct, mym_blob

NUMBER = st.floats(allow_nan=True, allow_infinity=True, width=64)
MATRIX = st.integers(1, 3).flatmap(lambda rows: st.integers(0, 4).flatmap(
    lambda cols: st.lists(NUMBER, min_size=rows * cols, max_size=rows * cols).map(
        lambda xs: np.array(xs, float).reshape(rows, cols))))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), max_codepoint=0xFFFF),
               min_size=1, max_size=12)
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
LEAF = st.one_of(MATRIX, TEXT)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.dictionaries(NAME, inner, min_size=1, max_size=4).map(Struct),
    st.lists(inner, min_size=1, max_size=3)), max_leaves=8)


def same(a, b) -> bool:
    """Equal as decoded values: same types, shapes, fields and (NaN-aware) numbers."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.names:
            return all(same(x[n], y[n]) for x, y in zip(a.flat, b.flat) for n in a.dtype.names)
        if a.dtype == object:
            return all(same(x, y) for x, y in zip(a.flat, b.flat))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    return a == b


@pytest.fixture(params=[False, True], ids=["switch-off", "switch-on"])
def use_32bit_dims(request, monkeypatch):
    monkeypatch.setattr(blob, "use_32bit_dims", request.param)
    return request.param


@settings(max_examples=150, deadline=None)
@given(value=VALUE)
def test_32bit_and_64bit_bytes_read_the_same(value):
    for switch in (False, True):
        blob.use_32bit_dims = switch
        try:
            assert same(decode(mym_blob(value, 4)), decode(mym_blob(value, 8)))
        finally:
            blob.use_32bit_dims = False


def test_a_32bit_struct_reads_as_matlab_wrote_it(use_32bit_dims):
    value = Struct(hits=np.array([[np.nan, 1, 1, 0, 1, 0, np.nan]]), sides="llllrrl",
                   tasks="ddddddd", stage="Stage 10")
    read = decode(mym_blob(value, 4))
    assert isinstance(read, MatStruct) and read.shape == (1, 1)
    assert read.dtype.names == ("hits", "sides", "tasks", "stage")
    np.testing.assert_array_equal(read[0, 0]["hits"], [[np.nan, 1, 1, 0, 1, 0, np.nan]])
    assert read[0, 0]["sides"].tolist() == ["llllrrl"]
    assert read[0, 0]["stage"].tolist() == ["Stage 10"]


def test_a_32bit_cell_reads_as_a_cell(use_32bit_dims):
    read = decode(mym_blob(["a", np.array([[1.0, 2.0]])], 4))
    assert isinstance(read, MatCell) and read.shape == (1, 2)
    assert read[0, 0].tolist() == ["a"]
    np.testing.assert_array_equal(read[0, 1], [[1.0, 2.0]])


@settings(max_examples=100, deadline=None)
@given(value=VALUE, cut=st.integers(1, 8))
def test_a_truncated_blob_is_refused_in_either_width(value, cut):
    for width in (4, 8):
        data = mym_blob(value, width)
        with pytest.raises(BlobFormatError):
            decode(data[:max(len(b"mYm\x00"), len(data) - cut)])


def test_the_error_is_the_64bit_readings_unless_the_switch_says_32(use_32bit_dims):
    bad = b"mYm\x00S" + (2**40).to_bytes(8, "little")
    with pytest.raises(BlobFormatError, match="dimensions" if not use_32bit_dims else "."):
        decode(bad)


def test_a_dj0_blob_is_never_read_as_32bit():
    data = b"dj0\x00" + mym_blob([[1.0]], 4)[4:]
    with pytest.raises(BlobFormatError):
        decode(data)
