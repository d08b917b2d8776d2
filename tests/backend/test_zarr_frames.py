"""Bytes read per frame of a ``<zarr@>`` array, counted on the store (a local folder and
moto's S3 server): a frame reads the chunks it touches — its own bytes rounded up to whole
chunks, plus chunk metadata — never the whole array, and equals numpy's frame. A value's
metadata is read once (kept per stored path), and on S3 a chunk costs one request."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.display.arrays import as_source, frame_payload
from dj_jupyter.objects import stores as storage
from dj_jupyter.objects.codecs.zarr import forget_opened, open_zarr

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


@contextlib.contextmanager
def zarr_keys() -> Iterator[list[str]]:
    """The keys zarr reads (metadata ``zarr.json``, chunks ``.../c/...``) from a local folder
    or S3, in the order asked."""
    zarr_storage = pytest.importorskip("zarr.storage")
    keys: list[str] = []
    originals = {kind: kind.get for kind in (zarr_storage.LocalStore, zarr_storage.FsspecStore)}

    def counting(original: Any) -> Any:
        async def get(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            keys.append(key)
            return await original(self, key, *args, **kwargs)
        return get

    for kind, original in originals.items():
        kind.get = counting(original)  # type: ignore[method-assign]
    try:
        yield keys
    finally:
        for kind, original in originals.items():
            kind.get = original  # type: ignore[method-assign]


def _frame_chunks(at: int, chunks: tuple[int, ...]) -> set[str]:
    name = "dff"
    return {f"{name}/c/{at // chunks[0]}/{i}/{j}" for i in range(math.ceil(H / chunks[1]))
            for j in range(math.ceil(W / chunks[2]))}


def test_metadata_is_read_once_per_value_and_a_frame_reads_its_chunks(schema, store):
    """The first preview of a value reads its two metadata documents (group and array) and
    the frame's chunks; fetching it again, or moving the slider, reads chunks only; on S3
    every chunk is one GET (no HEAD before it), and a frame equals numpy's."""
    xr = pytest.importorskip("xarray")

    @schema
    class Field(dj.Manual):
        definition = """
        f: int32
        ---
        data: <zarr@>
        """

    chunks = (1, H // 2, W // 2)
    stack = np.random.default_rng(9).random((T, H, W), dtype=np.float32)
    value = xr.DataArray(stack, dims=("time", "y", "x"), name="dff")
    value.encoding["chunks"] = chunks
    Field.insert1({"f": 1, "data": value})
    forget_opened()
    remote = store.local_path("x") is None
    with zarr_keys() as keys, bytes_read(store) as count:
        source = as_source((Field & {"f": 1}).fetch1("data"))
        meta, data = frame_payload(source, [1, 2], [2, 0, 0])
    assert sorted(k for k in keys if "/c/" not in k) == ["dff/zarr.json", "zarr.json"]
    assert set(keys) - {"dff/zarr.json", "zarr.json"} == _frame_chunks(2, chunks)
    np.testing.assert_array_equal(_decoded(meta, data), stack[2, ::meta["steps"][0],
                                                              ::meta["steps"][1]])
    if remote:  # two metadata GETs, one listing of the group's members, a GET per chunk
        assert count.calls == {"get_object": 2 + 4, "list_objects_v2": 1}, count.calls
    for at, fetch_again in ((5, True), (7, False)):
        with zarr_keys() as keys, bytes_read(store) as count:
            if fetch_again:
                source = as_source((Field & {"f": 1}).fetch1("data"))
            meta, data = frame_payload(source, [1, 2], [at, 0, 0])
        assert sorted(keys) == sorted(_frame_chunks(at, chunks))  # no metadata, each once
        np.testing.assert_array_equal(_decoded(meta, data), stack[at])
        if remote:
            assert count.calls == {"get_object": 4}, count.calls
        assert count.bytes <= 1.1 * _chunk_rounded(chunks, at, 4) + 16_384


def _decoded(meta: dict, data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.float32).reshape(meta["height"], meta["width"])


@pytest.mark.parametrize("where", ["<zarr@>", "<object@>"])
def test_zarr_format_2_written_by_others_is_read(schema, store, where):
    """Zarr format 2 (zarr-python 2, other tools) is not what ``<zarr@>`` writes, but a
    store in that format, written in place, is fetched and previewed all the same."""
    xr = pytest.importorskip("xarray")

    @schema
    class Legacy(dj.Manual):
        definition = f"""
        k: int32
        ---
        data: {where}
        """

    stack = np.random.default_rng(3).normal(size=(3, 20, 30)).astype(np.float32)
    value = xr.DataArray(stack, dims=("t", "y", "x"), name="v2")
    value.encoding["chunks"] = (1, 10, 30)
    with Legacy.staged_insert1 as staged:
        staged.rec["k"] = 1
        target = staged.store("data", ".zarr") if where == "<object@>" else staged.store("data")
        value.to_zarr(target, consolidated=False, zarr_format=2)
    forget_opened()
    fetched = (Legacy & {"k": 1}).fetch1("data")
    source = as_source(fetched)
    assert (source.shape, source.dims) == ((3, 20, 30), ["t", "y", "x"])
    meta, data = frame_payload(source, [1, 2], [1, 0, 0])
    np.testing.assert_array_equal(_decoded(meta, data), stack[1])
    if where == "<zarr@>":  # a named DataArray written in place comes back as a Dataset
        np.testing.assert_array_equal(fetched["v2"].values, stack)


def _frame_in_child(path: str, at: int) -> bytes:
    """In a forked worker: the frame of the ``<zarr@>`` value at ``path`` (default store)."""
    store = storage.get_store()
    return frame_payload(as_source(open_zarr("dataarray", store, path)), [1, 2], [at, 0, 0])[1]


def test_a_forked_worker_reads_with_its_own_client(schema, store):
    """The kept metadata and the S3 client belong to a process (the client to its event
    loop): a worker forked after the parent previewed a value reads it with its own."""
    pytest.importorskip("xarray")

    @schema
    class Field(dj.Manual):
        definition = """
        f: int32
        ---
        data: <zarr@>
        """

    stack = np.random.default_rng(4).random((3, 40, 50), dtype=np.float32)
    Field.insert1({"f": 1, "data": stack})
    frame_payload(as_source((Field & {"f": 1}).fetch1("data")), [1, 2], [0, 0, 0])
    folder = next(item.path for item in store.list() if ".zarr/" in item.path)
    path = folder.split(".zarr/")[0] + ".zarr"
    with multiprocessing.get_context("fork").Pool(1) as pool:
        data = pool.apply(_frame_in_child, (path, 2))
    np.testing.assert_array_equal(np.frombuffer(data, np.float32).reshape(40, 50), stack[2])


def test_a_zarr_store_removed_outside_is_a_clear_error(schema, store):
    pytest.importorskip("xarray")

    @schema
    class Field(dj.Manual):
        definition = """
        f: int32
        ---
        data: <zarr@>
        """

    Field.insert1({"f": 1, "data": np.zeros((2, 3), np.float32)})
    folder = next(item.path for item in store.list() if ".zarr/" in item.path)
    store.remove(folder.split(".zarr/")[0] + ".zarr/")
    forget_opened()
    with pytest.raises(dj.DataJointError, match="missing from store .* outside dj_jupyter"):
        (Field & {"f": 1}).fetch1("data")


def test_a_filepath_zarr_rewritten_in_place_is_seen_anew(schema, store):
    """Metadata is kept only for folders dj_jupyter writes (never rewritten); a ``.zarr``
    folder a ``<filepath@>`` names is the user's: rewritten in place, its next preview shows
    the new array."""
    xr = pytest.importorskip("xarray")

    @schema
    class Recording(dj.Manual):
        definition = """
        r: int32
        ---
        data: <filepath@>
        """

    first = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    xr.DataArray(first).to_zarr(store.fsmap("raw/run.zarr"), mode="w", consolidated=False)
    Recording.insert1({"r": 1, "data": "raw/run.zarr"})
    source = as_source((Recording & {"r": 1}).fetch1("data"))
    assert source.shape == (2, 4, 5)
    second = -np.arange(3 * 6 * 7, dtype=np.float32).reshape(3, 6, 7)
    xr.DataArray(second).to_zarr(store.fsmap("raw/run.zarr"), mode="w", consolidated=False)
    source = as_source((Recording & {"r": 1}).fetch1("data"))
    assert source.shape == (3, 6, 7)
    meta, data = frame_payload(source, [1, 2], [2, 0, 0])
    np.testing.assert_array_equal(_decoded(meta, data), second[2])
