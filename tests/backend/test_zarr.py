"""``<zarr@>`` through real databases, on a local-folder and an S3 (moto) store."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import DataTypeError, DefinitionError, DuplicateError

from . import test_storage as _shared

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

objects = _shared.objects
s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py


@pytest.fixture
def Arr(schema):
    @schema
    class Arr(dj.Manual):
        definition = """
        id: int32
        ---
        data = null: <zarr@>
        """

    return Arr


def _folders(store) -> set[str]:
    """The .zarr folders in the store (one per stored value)."""
    return {p.split(".zarr/")[0] + ".zarr" for p in objects(store) if ".zarr/" in p}


ARRAYS = [
    np.arange(24, dtype="float64").reshape(4, 6),
    np.linspace(0, 1, 7, dtype="float32"),
    np.arange(-5, 5, dtype="int16").reshape(2, 5),
    np.array([0, 255, 7], dtype="uint8"),
    np.array([[True, False], [False, True]]),
    np.array([1 + 2j, -3.5j], dtype="complex128"),
    np.array(["2024-01-02T03:04:05", "2025-06-07"], dtype="datetime64[ns]"),
    np.array(2.5),
]


def test_numpy_arrays_round_trip_as_data_arrays(Arr, store, schema):
    Arr.insert([{"id": i, "data": a} for i, a in enumerate(ARRAYS)] + [{"id": 99}])
    for i, array in enumerate(ARRAYS):
        fetched = (Arr & {"id": i}).fetch1("data")
        assert isinstance(fetched, xr.DataArray)
        assert fetched.dtype == array.dtype and fetched.shape == array.shape
        np.testing.assert_array_equal(fetched.values, array)
        np.testing.assert_array_equal(np.asarray(fetched), array)
    assert (Arr & {"id": 99}).fetch1("data") is None
    folders = _folders(store)
    assert len(folders) == len(ARRAYS)
    assert all(f.startswith(f"_schema/{schema.database}/arr/id=") for f in folders)


def test_data_array_and_dataset_round_trip(Arr, store):
    temperature = xr.DataArray(
        np.random.default_rng(0).normal(size=(3, 4)).astype("float32"),
        dims=("time", "channel"), name="temperature",
        coords={"time": np.array(["2024-01-01", "2024-01-02", "2024-01-03"],
                                 dtype="datetime64[ns]"),
                "channel": [10, 20, 30, 40], "gain": ("channel", [1.0, 1.5, 2.0, 2.5])},
        attrs={"units": "degC", "sensor": "A7", "rate": 30.0})
    dataset = xr.Dataset({"temperature": temperature,
                          "count": (("channel",), np.arange(4, dtype="int64"))},
                         attrs={"session": "s1", "version": 3})
    Arr.insert([{"id": 1, "data": temperature}, {"id": 2, "data": dataset}])
    array_back = (Arr & {"id": 1}).fetch1("data")
    xr.testing.assert_identical(array_back.load(), temperature)
    dataset_back = (Arr & {"id": 2}).fetch1("data")
    assert isinstance(dataset_back, xr.Dataset)
    xr.testing.assert_identical(dataset_back.load(), dataset)


def test_fetch_reads_metadata_only_and_chunks_on_demand(Arr, store, monkeypatch):
    if store.protocol != "file":
        pytest.skip("reads are counted on the local filesystem")
    big = xr.DataArray(np.arange(400_000, dtype="float64").reshape(400, 1000),
                       dims=("row", "col"), name="big")
    big.attrs["note"] = "chunked"
    big.encoding["chunks"] = (100, 250)  # 16 chunks of 200 kB
    Arr.insert1({"id": 1, "data": big})
    chunk_reads: list[str] = []
    zarr_storage = pytest.importorskip("zarr.storage")
    original = zarr_storage.LocalStore.get  # what a fetched value reads a local folder with

    async def counting(self, key, *args, **kwargs):
        if "/c/" in key:  # a chunk of a Zarr v3 array (metadata is zarr.json)
            chunk_reads.append(key)
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(zarr_storage.LocalStore, "get", counting)
    fetched = Arr.fetch1("data")
    listed = Arr.to_arrays("data")  # an object array of DataArrays, none of them read
    assert isinstance(listed[0], xr.DataArray) and listed[0].shape == (400, 1000)
    assert (fetched.shape, fetched.dims, fetched.attrs["note"]) == ((400, 1000), ("row", "col"),
                                                                     "chunked")
    assert chunk_reads == []  # metadata only
    np.testing.assert_array_equal(fetched[:2, :3].values, big.values[:2, :3])
    assert len(chunk_reads) == 1  # only the chunk holding the selection
    np.testing.assert_array_equal(fetched.values, big.values)
    assert len(set(chunk_reads)) == 16  # all of them once all the data is used


def test_failed_insert_leaves_no_zarr_objects(Arr, store, conn):
    with pytest.raises(DataTypeError):
        Arr.insert([{"id": 1, "data": np.ones(3)}, {"id": 2, "data": np.ones(2)},
                    {"id": 3, "data": [1, 2]}])
    with pytest.raises(DataTypeError, match="Python objects"):
        Arr.insert1({"id": 4, "data": np.array([{}], dtype=object)})
    assert len(Arr) == 0 and objects(store) == set()
    Arr.insert1({"id": 1, "data": np.zeros(2)})
    before = objects(store)
    with pytest.raises(DuplicateError):
        Arr.insert([{"id": 2, "data": np.ones(4)}, {"id": 1, "data": np.ones(5)}])
    assert objects(store) == before
    with pytest.raises(RuntimeError), conn.transaction:
        Arr.insert1({"id": 7, "data": xr.Dataset({"v": ("x", np.arange(3))})})
        raise RuntimeError("make failed")
    assert objects(store) == before and len(Arr) == 1


def test_delete_and_gc(Arr, store, schema):
    Arr.insert([{"id": i, "data": np.full((2, 2), i)} for i in range(3)])
    assert len(_folders(store)) == 3
    (Arr & {"id": 0}).delete()
    assert len(_folders(store)) == 2
    orphan = f"_schema/{schema.database}/arr/id=8/data_orphan.zarr/zarr.json"
    store.put_bytes(orphan, b"{}")
    report = schema.gc(dry_run=False, grace_seconds=0)
    assert [p for _, p in report["removed"]] == [orphan]
    assert len(_folders(store)) == 2
    np.testing.assert_array_equal((Arr & {"id": 2}).fetch1("data").values, np.full((2, 2), 2))


def test_without_zarr_the_error_names_the_install_command(schema, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # `import zarr` raises ImportError
    with pytest.raises(DefinitionError, match=r"pip install 'dj-jupyter\[zarr\]'"):
        @schema
        class NoZarr(dj.Manual):
            definition = """
            id: int32
            ---
            data: <zarr@>
            """


def test_importing_dj_jupyter_does_not_import_zarr():
    code = ("import sys, dj_jupyter; from dj_jupyter.objects.codecs import list_codecs; "
            "assert 'zarr' in list_codecs(); "
            "print(sorted(m for m in ('zarr', 'xarray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
