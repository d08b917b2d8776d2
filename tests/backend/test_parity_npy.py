"""``<npy@>`` and ``NpyRef`` as DataJoint 2.x has them (issue 17), on a local folder and on
S3 (moto), on every database backend: ``NpyRef(metadata, backend)``, memory-mapped loads that
are not kept, DataJoint's messages for values ``<npy@>`` cannot hold.

The law: for any array, ``load()``, ``load(mmap_mode="r")`` and ``np.asarray(ref)`` all equal
what was inserted, whichever way the ref reads its object.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, DataTypeError, DefinitionError
from dj_jupyter.objects.codecs.builtin_codecs import NpyCodec, NpyRef, SchemaCodec, StoreBackend

from . import test_storage as _shared

s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


@pytest.fixture
def Arr(schema, store):
    @schema
    class Arr(dj.Manual):
        definition = """
        a: int32
        ---
        arr: <npy@>
        """

    return Arr


class _BufferBackend:
    """A storage backend written against DataJoint 2.x's interface (``get_buffer``,
    ``protocol``, ``_full_path``), here over a real store's files."""

    def __init__(self, store):
        self.store = store
        self.protocol = store.protocol
        self.calls: list[str] = []

    def _full_path(self, path: str) -> str:
        self.calls.append("_full_path")
        return str(self.store.local_path(path))

    def get_buffer(self, path: str) -> bytes:
        self.calls.append("get_buffer")
        return self.store.get_bytes(path)


def _metadata(ref: NpyRef) -> dict:
    return {"path": ref.path, "store": ref.store, "dtype": str(ref.dtype),
            "shape": list(ref.shape)}


def test_metadata_and_repr_read_nothing(Arr, store):
    Arr.insert1({"a": 1, "arr": np.zeros((30, 4), dtype="int16")})
    ref = Arr.fetch1("arr")
    backend = _BufferBackend(store)
    given = NpyRef(_metadata(ref), backend)
    facts = (given.shape, given.dtype, given.ndim, given.size, given.nbytes, len(given),
             given.path, given.store, given.is_loaded, repr(given))
    assert backend.calls == []
    assert facts[:9] == ((30, 4), np.dtype("int16"), 2, 120, 240, 30, ref.path, store.name,
                         False)
    assert "not loaded" in facts[9] and "(30, 4)" in facts[9] and "int16" in facts[9]
    given.load()
    assert "not loaded" not in repr(given) and "loaded" in repr(given)


def test_a_0d_array_has_no_len(Arr):
    Arr.insert1({"a": 1, "arr": np.array(3.5)})
    ref = Arr.fetch1("arr")
    with pytest.raises(TypeError, match="0-dimensional"):
        len(ref)
    assert ref.load() == 3.5


@pytest.mark.parametrize("reader", ["own store", "StoreBackend", "DataJoint-style backend"])
def test_mapped_loads_are_not_kept(Arr, store, reader):
    values = np.arange(200, dtype=">f8").reshape(20, 10)
    Arr.insert1({"a": 1, "arr": values})
    fetched = Arr.fetch1("arr")
    backend = {"own store": None, "StoreBackend": StoreBackend(store),
               "DataJoint-style backend": _BufferBackend(store)}[reader]
    ref = NpyRef(_metadata(fetched), backend)
    mapped = ref.load(mmap_mode="r")
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, values)
    assert not ref.is_loaded
    loaded = ref.load()
    assert type(loaded) is np.ndarray and np.array_equal(loaded, values)
    assert ref.load() is loaded and ref.is_loaded
    assert np.array_equal(ref[3:5, ::2], values[3:5, ::2])
    assert np.array_equal(ref.load(mmap_mode="r"), values)  # again, after the copy is cached
    changed = ref.load(mmap_mode="c")
    changed[0, 0] = -1.0  # copy-on-write: in memory only
    for mode in ("r+", "w+"):
        with pytest.raises(DataJointError, match="would write into the stored object"):
            ref.load(mmap_mode=mode)
    assert np.array_equal(NpyRef(_metadata(fetched)).load(), values)


def test_npy_is_a_schema_codec_that_needs_a_store():
    codec = NpyCodec()
    assert isinstance(codec, SchemaCodec) and codec.name == "npy"
    assert codec.get_dtype(is_store=True) == "json"
    with pytest.raises(DefinitionError, match="requires @"):
        codec.get_dtype(is_store=False)


def test_values_npy_cannot_hold_are_refused_with_the_fix(Arr, store):
    codec = NpyCodec()
    for value in ([1, 2, 3], {"data": [1]}, 5):
        with pytest.raises(DataTypeError, match="requires numpy.ndarray"):
            codec.validate(value)
    with pytest.raises(DataTypeError, match="object dtype"):
        codec.validate(np.array([{}, []], dtype=object))
    codec.validate(np.array([1, 2]))
    with pytest.raises(DataTypeError, match=r"row 1, attribute 'arr'.*object dtype.*<blob@>"):
        Arr.insert([{"a": 1, "arr": np.ones(3)}, {"a": 2, "arr": np.array([{}], dtype=object)}])
    with pytest.raises(DataJointError, match="requires numpy.ndarray"):
        Arr.insert1({"a": 3, "arr": [1, 2, 3]})
    assert len(Arr) == 0
    assert not list(store.list(""))  # the first row's object went with the failed insert


ARRAYS = hnp.arrays(
    dtype=st.sampled_from(["float64", "<i4", ">u2", "complex64", "bool", "U3"]).map(np.dtype),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=ARRAYS, reader=st.sampled_from(["own store", "StoreBackend", "DataJoint-style"]))
def test_every_way_of_reading_gives_the_array(Arr, store, values, reader):
    Arr.delete_quick()
    Arr.insert1({"a": 1, "arr": values})
    backend = {"own store": None, "StoreBackend": StoreBackend(store),
               "DataJoint-style": _BufferBackend(store)}[reader]
    ref = NpyRef(_metadata(Arr.fetch1("arr")), backend)
    for read in (lambda: ref.load(mmap_mode="r"), ref.load, lambda: np.asarray(ref)):
        got = read()
        assert got.dtype == values.dtype and got.shape == values.shape
        assert np.array_equal(got, values, equal_nan=values.dtype.kind in "fc")
