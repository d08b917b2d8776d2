"""Codecs whose values live in an object store.

- ``<hash@store>``: bytes, content-addressed: ``_hash/{schema}/{md5 as base32}``, written once
  per schema (an existing object is reused and refreshed, see :mod:`..gc`), verified on read.
  Such an object may be shared by rows of several transactions, so a failed insert never
  removes it: ``schema.gc()`` does once no row refers to it.
- ``<attach>`` / ``<attach@store>``: a file, stored as ``name\\0content`` (in the table, or
  through ``<hash@store>``); fetched into ``dj.config["download_path"]``.
- ``<npy@store>``: a numpy array as an ``.npy`` object at a path derived from the row's key,
  ``_schema/{schema}/{table}/{pk=value}/.../{field}_{token}.npy`` (see
  :mod:`..storage` for the layout keys that change these paths); fetched as a lazy
  :class:`NpyRef`. The row is DataJoint's ``{path, store, dtype, shape}`` plus, for a
  C-ordered array, ``data_offset`` (where its bytes start), so that a slice is read together
  with the header that confirms it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from ...errors import DataJointError, DataTypeError
from ...settings import config
from ..stores import get_store, record_write, share_object
from . import npyslice
from .base import Codec, store_only_dtype, with_context
from .npyslice import header_layout, read_range
from .schema_codec import SchemaCodec, StoreBackend

__all__ = ["row_key", "schema_of", "HashCodec", "AttachCodec", "NpyCodec", "NpyRef", "content_hash"]

# What one ranged request costs, in bytes read, when NpyRef plans a slice's reads: a local
# read is a system call, an S3 read a round trip (so S3 prefers fewer, larger reads).
LOCAL_REQUEST_COST = 1024
REMOTE_REQUEST_COST = 1 << 20
# The <npy@> metadata key (our addition to DataJoint's {path, store, dtype, shape}, which
# DataJoint ignores) naming where the array's bytes start in a C-ordered .npy object.
DATA_OFFSET = "data_offset"
MAX_DATA_OFFSET = 1 << 20  # beyond any header np.save writes for an array it can hold


def content_hash(data: bytes) -> str:
    """MD5 as lower-case base32 without padding (26 characters)."""
    return base64.b32encode(hashlib.md5(data).digest()).decode().rstrip("=").lower()


def schema_of(key: dict | None, codec: str) -> str:
    if not key or "_schema" not in key:
        raise ValueError(f"<{codec}@> values are stored for a row of a table; insert them "
                         "through a table (they cannot be used in restrictions or defaults)")
    return key["_schema"]


def row_key(key: dict | None, codec: str) -> dict:
    """The row description a schema-addressed codec needs (schema, table, field, key)."""
    schema_of(key, codec)
    return key  # type: ignore[return-value]  # schema_of refused None


class HashCodec(Codec):
    """``<hash@store>``: bytes in a content-addressed object (deduplicated per schema)."""

    name = "hash"

    def get_dtype(self, is_store: bool) -> str:
        return store_only_dtype(self.name, "keeps bytes in", is_store)

    def validate(self, value: Any) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError("expected bytes")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> dict:
        schema = schema_of(with_context(key, context), self.name)
        data = bytes(value)
        digest = content_hash(data)
        store = get_store(store_name)
        path = store.layout.hash_path(schema, digest)
        share_object(store, path, data)  # stored once, shared: reused objects are refreshed
        return {"hash": digest, "path": path, "schema": schema, "store": store.name,
                "size": len(data)}

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> bytes:
        data = get_store(stored.get("store")).get_bytes(stored["path"])
        if content_hash(data) != stored["hash"]:
            raise DataJointError(f"object {stored['path']} in store {stored['store']!r} does "
                                 "not match its hash: it was changed outside dj_jupyter")
        return data


class AttachCodec(Codec):
    """``<attach>``: a file (given by its path) in the table or, with ``@``, in a store."""

    name = "attach"

    def get_dtype(self, is_store: bool) -> str:
        return "<hash>" if is_store else "bytes"

    def validate(self, value: Any) -> None:
        if not isinstance(value, (str, Path)):
            raise TypeError("expected the path of a file")
        if not Path(value).is_file():
            raise ValueError(f"{str(value)!r} is not a file")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> bytes:
        path = Path(value)
        return path.name.encode() + b"\0" + path.read_bytes()

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> str:
        name, _, content = bytes(stored).partition(b"\0")
        folder = Path(config["download_path"])
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name.decode()
        if target.exists() and target.read_bytes() != content:
            # never overwrite a different file of the same name
            target = folder / f"{target.stem}_{content_hash(content)[:8]}{target.suffix}"
        if not target.exists():
            target.write_bytes(content)
        return str(target)


class NpyCodec(SchemaCodec):
    """``<npy@store>``: a numpy array as an ``.npy`` object addressed by the row's key (a
    schema-addressed codec, as in DataJoint 2.x)."""

    name = "npy"
    referenced_paths = Codec.referenced_paths  # always one file: no listing to tell a folder

    def get_dtype(self, is_store: bool) -> str:
        return store_only_dtype(self.name, "keeps arrays in", is_store)

    def validate(self, value: Any) -> None:
        import numpy as np

        if not isinstance(value, np.ndarray):
            raise DataTypeError(f"<npy> requires numpy.ndarray, got {type(value).__name__}; "
                                "give np.asarray(value), or declare <blob@> for other values")
        if value.dtype.hasobject:
            raise DataTypeError("<npy> does not support object dtype arrays (Python objects "
                                "have no .npy form without pickle); declare <blob@> for them")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> dict:

        row = row_key(with_context(key, context), self.name)
        store = get_store(store_name)
        path = store.layout.object_path(row, ".npy")
        record_write(store, path)  # first: a partial write is removed too
        data_offset = store.put_npy(path, value)
        metadata: dict[str, Any] = {"path": path, "store": store.name,
                                    "dtype": dtype_text(value.dtype), "shape": list(value.shape)}
        if not (value.flags.f_contiguous and not value.flags.c_contiguous):
            # C order (as np.save writes it): NpyRef reads a slice and the header at once
            metadata[DATA_OFFSET] = data_offset
        return metadata

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> NpyRef:
        return NpyRef(stored)


def dtype_text(dtype: Any) -> str:
    """A dtype as the row describes it, as DataJoint does: ``str(dtype)`` (``"float64"``,
    ``">i4"``, ``"[('x', '<f4'), ('n', '<i8')]"`` for a structured one)."""
    return str(dtype)


def dtype_of(text: str) -> Any:
    """The dtype a row's description names (:func:`dtype_text`, or our earlier ``dtype.str``)."""
    import ast

    import numpy as np

    if text.startswith("["):  # a structured dtype: its fields as a Python literal
        return np.dtype([tuple(field) for field in ast.literal_eval(text)])
    return np.dtype(text)


class NpyRef:
    """A lazy reference to a stored array: metadata without I/O, data on demand.

    ``.shape``, ``.dtype``, ``.ndim``, ``.size``, ``.nbytes`` and ``len()`` read nothing;
    ``.load()`` and ``np.asarray(ref)`` read the array (once); ``.load(mmap_mode="r")`` maps
    it instead (a remote object is first copied to a local cache file); ``ref[index]``
    equals numpy's ``array[index]`` and, for basic indexing on any number of axes, reads
    only the bytes the result needs plus row rounding (ranged reads after the .npy header;
    see :mod:`.npyslice`). When the row records the data offset, the first slice is read in
    the same batch as the header (one request for the first frame of a stack) and kept only
    if the header agrees; otherwise the header is read first.

    ``NpyRef(metadata)`` reads from the store the metadata names; ``NpyRef(metadata,
    backend)`` (DataJoint 2.x's form) reads through ``backend``: a :class:`StoreBackend`, or
    any object with DataJoint's ``get_buffer(path)`` (and, when its ``protocol`` is
    ``"file"``, ``_full_path(path)`` for mapping the file in place).
    """

    def __init__(self, metadata: dict, backend: Any = None):
        self.path: str = metadata["path"]
        self.store: str | None = metadata.get("store")  # None: the default store
        self.dtype = dtype_of(metadata["dtype"])
        self.shape: tuple[int, ...] = tuple(metadata["shape"])
        self._backend = backend
        self._array = None
        self._layout: tuple[int, bool] | None = None
        self._offset_hint = _offset_hint(metadata)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        count = 1
        for n in self.shape:
            count *= n
        return count

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def is_loaded(self) -> bool:
        return self._array is not None

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-dimensional array")
        return self.shape[0]

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "not loaded"
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, store={self.store!r}, {state})"

    def _store(self) -> Any:
        """What the object is read from: a store, or the backend this ref was given."""
        if self._backend is None:
            return get_store(self.store)
        if isinstance(self._backend, StoreBackend):
            return self._backend.store
        return _ForeignBackend(self._backend)

    def load(self, mmap_mode: Literal["r+", "r", "w+", "c"] | None = None):
        """The whole array, read once and then kept; with ``mmap_mode`` ``"r"`` (read-only)
        or ``"c"`` (copy-on-write) a ``numpy.memmap`` of the file instead, each call (nothing
        is kept). ``"r+"``/``"w+"`` are refused: they would change the stored object behind
        its row's back (DataJoint allows them)."""
        import numpy as np

        if mmap_mode in ("r+", "w+"):
            raise DataJointError(f"mmap_mode={mmap_mode!r} would write into the stored object; "
                                 "use 'c' (copy-on-write) to change the mapped values in "
                                 "memory, and update1 the row to store a changed array")
        if mmap_mode is not None:
            return np.load(self._local_file(), mmap_mode=mmap_mode, allow_pickle=False)
        if self._array is None:
            store = self._store()
            local = store.local_path(self.path)
            if local is not None:
                try:
                    self._array = np.load(local, allow_pickle=False)
                except FileNotFoundError:
                    store.get_bytes(self.path)  # raises the error naming the missing object
            else:
                data = store.get_bytes(self.path)
                self._array = np.load(io.BytesIO(data), allow_pickle=False)
        return self._array

    def _local_file(self) -> Path:
        """The object as a file on this machine: itself in a local store, else a copy in
        ``{tempdir}/dj_jupyter_mmap`` (one per object: paths are never reused)."""
        store = self._store()
        local = store.local_path(self.path)
        if local is not None:
            if not Path(local).exists():
                store.get_bytes(self.path)  # raises the error naming the missing object
            return Path(local)
        folder = Path(tempfile.gettempdir()) / "dj_jupyter_mmap"
        folder.mkdir(exist_ok=True)
        name = hashlib.sha256(f"{self.store}\0{self.path}".encode()).hexdigest()[:24]
        cached = folder / f"{name}.npy"
        if not cached.exists():
            partial = cached.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(store.get_bytes(self.path))
            os.replace(partial, cached)  # whole or absent, also with several processes
        return cached

    def __array__(self, dtype=None, copy=None):
        array = self.load()
        return array if dtype is None else array.astype(dtype)

    def _header(self) -> tuple[int, bool]:
        """(offset of the data, whether it is Fortran-ordered), from the .npy header (one
        ranged read of its usual 128 bytes, a second only for a longer header)."""
        import ast

        if self._layout is None:
            store = self._store()
            head = read_range(store, self.path, 0, 128)
            start, length = header_layout(head)
            if start + length > len(head):
                head += read_range(store, self.path, len(head), start + length)
            header = ast.literal_eval(head[start:start + length].decode("latin1"))
            self._layout = (start + length, bool(header.get("fortran_order")))
        return self._layout

    def __getitem__(self, index: Any):
        """``ref[index]``: numpy's result; basic indexing (ints, slices, ``...``, ``None``)
        reads only the bytes it needs (plus row rounding), fancy indexing loads the array."""
        if self._array is not None or self.dtype.hasobject or \
                not npyslice.is_basic_index(index) or isinstance(self._store(), _ForeignBackend):
            return self.load()[index]
        if self._layout is None and self._offset_hint is not None:
            checked = self._read_with_header(index, self._offset_hint)
            if checked is not MISMATCH:
                return checked
        offset, fortran = self._header()
        plan = self._plan(index, fortran)
        return npyslice.read_slice(self._store(), self.path, offset, self.dtype, plan)

    def _plan(self, index: Any, fortran: bool) -> npyslice.ReadPlan:
        """The reads of ``ref[index]``, planned for what one request costs on this store."""
        located = npyslice.locate(self.shape, self.dtype.itemsize, fortran, index)
        store = self._store()
        cost = LOCAL_REQUEST_COST if store.local_path(self.path) is not None else \
            REMOTE_REQUEST_COST
        return npyslice.plan_reads(self.shape, self.dtype.itemsize, located, cost)

    def _read_with_header(self, index: Any, offset: int) -> Any:
        """``ref[index]`` read at ``offset``, the data offset the metadata records, with the
        .npy header (one request when the slice starts within a header's length of the
        data, as the first frame of a stack does; else two, concurrent), kept only when
        the header confirms the offset, order, shape and dtype; else :data:`MISMATCH` (the
        caller reads the header first, as for values written without the offset)."""
        plan = self._plan(index, False)
        if 0 in plan.shape:
            return MISMATCH  # nothing to read: the header path answers without a guess
        try:
            head, buffer = npyslice.fetch_plan(self._store(), self.path, offset, plan,
                                               head=True, merge_gap=offset)
        except OSError:
            return MISMATCH  # shorter than the offset says: the header path tells why
        header = npyslice.parse_header(head)
        if header is None or header.data_offset != offset or header.fortran or \
                header.shape != self.shape or header.dtype != self.dtype:
            self._offset_hint = None
            return MISMATCH
        self._layout = (offset, False)
        return npyslice.shape_result(buffer, self.dtype, plan)


MISMATCH = object()  # what NpyRef._read_with_header returns when the header disagrees


def _offset_hint(metadata: dict) -> int | None:
    """The recorded data offset when it can be one (an int past the shortest header and
    within :data:`MAX_DATA_OFFSET`); the header then confirms it before any data is used."""
    offset = metadata.get(DATA_OFFSET)
    if isinstance(offset, int) and not isinstance(offset, bool) and \
            16 <= offset <= MAX_DATA_OFFSET:
        return offset
    return None


class _ForeignBackend:
    """A DataJoint-style storage backend (``get_buffer``, ``protocol``, ``_full_path``) as
    the two reads :class:`NpyRef` makes of a store."""

    def __init__(self, backend: Any):
        self.backend = backend

    def local_path(self, path: str) -> Path | None:
        if getattr(self.backend, "protocol", None) == "file" and \
                hasattr(self.backend, "_full_path"):
            return Path(self.backend._full_path(path))
        return None

    def get_bytes(self, path: str) -> bytes:
        return bytes(self.backend.get_buffer(path))
