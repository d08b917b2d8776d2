"""``<zarr@store>``: numpy arrays and xarray objects as Zarr stores, fetched lazily as xarray.

The value is written as a Zarr (format 3) store in a folder owned by the row, at the
schema-addressed path ``_schema/{schema}/{table}/{pk=value}/.../{field}_{token}.zarr``, through
an fsspec mapper, so the same code writes to a local folder, S3 or any fsspec store. Fetching
opens the store and reads its metadata only; array chunks are read when the data is used
(``.values``, ``.load()``, indexing reads only the chunks it needs).

Round-trip law, by the kind of value inserted:

- ``xarray.Dataset``    → an equal Dataset (variables, coordinates, attributes);
- ``xarray.DataArray``  → an equal DataArray (name, dims, coordinates, attributes);
- ``numpy.ndarray``     → a DataArray whose ``.values`` equal the array (dims ``dim_0``, ...):
  ``np.asarray(fetched)`` gives the array back.

zarr and xarray are an optional extra (``pip install 'dj-jupyter[zarr]'``); importing
dj_jupyter never imports them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import OrderedDict
from typing import Any

from ...errors import DataJointError, DefinitionError
from ..stores import Store, get_store, record_write
from .base import Codec, store_only_dtype
from .objects import Prestored
from .stored import row_key

__all__ = ["ZarrCodec", "INSTALL_HINT", "reading_store", "opened_metadata", "forget_opened",
           "open_zarr"]

INSTALL_HINT = "pip install 'dj-jupyter[zarr]'"
KINDS = ("ndarray", "dataarray", "dataset")
UNNAMED = "__xarray_dataarray_variable__"  # xarray's name for a DataArray without a name


def _xarray() -> Any:
    """The xarray module, after checking that zarr is importable too."""
    try:
        import xarray
        import zarr  # noqa: F401 - xarray's zarr engine needs it
    except ImportError as error:
        raise DefinitionError(f"<zarr@> needs the packages zarr and xarray ({error.name} is "
                              f"not installed): {INSTALL_HINT}") from None
    return xarray


def _kind(value: Any, xr: Any) -> str:
    if isinstance(value, xr.Dataset):
        return "dataset"
    if isinstance(value, xr.DataArray):
        return "dataarray"
    return "ndarray"


def _describe(kind: str, value: Any) -> dict:
    """What the column records besides the path: enough to know the value without I/O."""
    if kind == "dataset":
        return {"dims": {str(k): int(n) for k, n in value.sizes.items()},
                "variables": sorted(str(n) for n in value.data_vars),
                "nbytes": int(value.nbytes)}
    return {"dims": [str(d) for d in value.dims], "shape": [int(n) for n in value.shape],
            "dtype": value.dtype.str, "nbytes": int(value.nbytes)}


def write_zarr(value: Any, fsmap: Any) -> dict:
    """Write a numpy array, DataArray or Dataset to the fsspec mapper; return its
    description (kind, dims, shape, dtype, ...)."""
    xr = _xarray()
    kind = _kind(value, xr)
    target = xr.DataArray(value) if kind == "ndarray" else value
    target.to_zarr(fsmap, mode="w-", consolidated=False)
    return {"kind": kind, **_describe(kind, target)}


def describe_stored(fsmap: Any) -> dict:
    """The description of a Zarr store written in place (by ``staged_insert1``), read from
    its metadata: a single unnamed DataArray written by ``DataArray.to_zarr`` comes back as a
    DataArray, anything else as a Dataset."""
    xr = _xarray()
    try:
        dataset = xr.open_zarr(fsmap, chunks=None, consolidated=False)
    except Exception as error:  # noqa: BLE001 - any reason it is not readable as xarray
        raise DefinitionError(f"the staged Zarr store cannot be opened by xarray "
                              f"({type(error).__name__}: {error}); write it with "
                              "Dataset.to_zarr or DataArray.to_zarr") from None
    if list(dataset.data_vars) == [UNNAMED]:
        return {"kind": "dataarray", **_describe("dataarray", dataset[UNNAMED])}
    return {"kind": "dataset", **_describe("dataset", dataset)}


def reading_store(store: Store, path: str) -> Any:
    """A read-only zarr store over the folder ``path`` of ``store``: zarr's own
    ``LocalStore`` for a local folder, the store's asynchronous S3 twin (one GET per chunk,
    one client per store), else zarr's view of the fsspec mapping."""
    import zarr.storage

    local = store.local_path(path)
    if local is not None:
        return zarr.storage.LocalStore(local, read_only=True)
    if store.async_fs is not None:
        return zarr.storage.FsspecStore(store.async_fs, path=store.full_path(path),
                                        read_only=True)
    return zarr.storage.FsspecStore.from_mapper(store.fsmap(path), read_only=True)


_OPENED: OrderedDict[tuple[int, str, str, str], Any] = OrderedDict()
OPENED_LIMIT = 64  # stores whose metadata is kept (a few KiB each)


def opened_metadata(store: Store, path: str) -> Any:
    """xarray's view of the Zarr store at ``path``, its metadata read once and kept where
    dj_jupyter writes: those values never change in place (every write goes to a fresh path),
    so fetching the value again, or previewing it again, reads no metadata (a folder a
    ``<filepath@>`` names is the user's, and opened afresh each time). Zarr format 3 (what
    ``<zarr@>`` writes) is asked for first, without probing for format 2 files; stores
    written by others in format 2 are opened by detection."""
    from xarray.backends import ZarrStore

    _xarray()
    key = (os.getpid(), store.name, store.root, path)  # a forked worker opens its own
    opened = _OPENED.get(key)
    if opened is None:
        target = reading_store(store, path)
        try:
            opened = ZarrStore.open_group(target, mode="r", consolidated=False, zarr_format=3)
        except FileNotFoundError:  # no format 3 group: format 2, or nothing there
            try:
                opened = ZarrStore.open_group(target, mode="r", consolidated=False)
            except FileNotFoundError:
                raise DataJointError(f"Zarr store {path!r} is missing from store "
                                     f"{store.name!r} (or holds no Zarr group); it was removed "
                                     "or changed outside dj_jupyter") from None
        if store.layout.is_managed(path):  # a <filepath@> folder may be rewritten in place
            _OPENED[key] = opened
            while len(_OPENED) > OPENED_LIMIT:
                _OPENED.popitem(last=False)
    else:
        _OPENED.move_to_end(key)
    return opened


def forget_opened() -> None:
    """Drop the kept metadata (the next fetch of every value opens its store again)."""
    _OPENED.clear()


def open_zarr(kind: str, store: Store, path: str) -> Any:
    """Open a stored value lazily: metadata now (or kept from before), chunks when the data
    is used."""
    xr = _xarray()
    opened = opened_metadata(store, path)
    if kind == "dataset":
        return xr.open_dataset(opened, chunks=None)
    return xr.open_dataarray(opened, chunks=None)


class ZarrCodec(Codec):
    """``<zarr@store>``: an array, DataArray or Dataset as a Zarr store owned by the row."""

    name = "zarr"
    replaceable = True  # DataJoint has no <zarr@>: a DataJoint zarr codec plugin takes its place

    def get_dtype(self, is_store: bool) -> str:
        dtype = store_only_dtype(self.name, "keeps arrays in", is_store)
        _xarray()
        return dtype

    def validate(self, value: Any) -> None:
        import numpy as np

        xr = _xarray()
        if isinstance(value, Prestored):
            return
        if not isinstance(value, (np.ndarray, xr.DataArray, xr.Dataset)):
            raise TypeError("expected a numpy array, an xarray.DataArray or an xarray.Dataset")
        if isinstance(value, np.ndarray) and value.dtype.hasobject:
            raise ValueError("arrays of Python objects cannot be stored as Zarr; use <blob@>")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None) -> dict:
        if isinstance(value, Prestored):  # written in place by staged_insert1
            return value.encoded(store_name, key)
        row = row_key(key, self.name)
        store = get_store(store_name)
        path = store.layout.object_path(row, ".zarr")
        record_write(store, path + "/")  # first: a partial store is removed too
        described = write_zarr(value, store.fsmap(path))
        return {"path": path, "store": store.name, **described,
                "timestamp": dt.datetime.now(dt.timezone.utc).isoformat()}

    def decode(self, stored: Any, *, key: dict | None = None) -> Any:
        if stored.get("kind") not in KINDS:
            raise DefinitionError(f"stored <zarr@> value of unknown kind {stored.get('kind')!r}")
        return open_zarr(stored["kind"], get_store(stored["store"]), stored["path"])

    def referenced_paths(self, stored: Any) -> list[tuple[str, str]]:
        return [(stored["store"], stored["path"].rstrip("/") + "/")]  # the whole folder
