"""What codec plugins written for DataJoint 2.x call: ``SchemaCodec`` and a store backend.

A DataJoint plugin (datajoint/dj-zarr-codecs, dj-photon-codecs, ...) subclasses
``datajoint.builtin_codecs.SchemaCodec`` and calls its helpers: ``_extract_context(key,
context)`` for the row's schema, table, field and key, ``_build_path(...)`` for a fresh
schema-addressed path (the same path our own codecs build), ``_get_backend(store_name)`` for the
store, and the backend's DataJoint names (``put_buffer``, ``get_buffer``, ``get_fsmap``,
``put_folder``, ...). Here those names work on dj_jupyter's stores, and every object a plugin
writes through them is journalled like ours: removed again if its insert does not commit.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ...errors import DataJointError
from ..stores import Store, get_store, record_write
from .base import Codec, store_only_dtype

__all__ = ["SchemaCodec", "StoreBackend"]


class StoreBackend:
    """A store under DataJoint's ``StorageBackend`` method names (paths relative to it)."""

    def __init__(self, store: Store):
        self.store = store

    def __repr__(self) -> str:
        return f"StoreBackend({self.store!r})"

    @property
    def fs(self):
        return self.store.fs

    def _full(self, path: Any) -> str:
        return self.store.full_path(str(path))

    def put_buffer(self, buffer: bytes, remote_path: Any) -> None:
        record_write(self.store, str(remote_path))
        self.store.put_bytes(str(remote_path), buffer)

    def get_buffer(self, remote_path: Any) -> bytes:
        return self.store.get_bytes(str(remote_path))

    def put_file(self, local_path: Any, remote_path: Any, metadata: dict | None = None) -> None:
        record_write(self.store, str(remote_path))
        self.store.put_file(str(remote_path), local_path)

    def get_file(self, remote_path: Any, local_path: Any) -> None:
        Path(local_path).parent.mkdir(parents=True, exist_ok=True)
        self.fs.get_file(self._full(remote_path), str(local_path))

    def put_folder(self, local_path: Any, remote_path: Any) -> dict:
        """Copy a local folder; DataJoint's manifest: its files and total size."""
        record_write(self.store, str(remote_path).rstrip("/") + "/")
        files, size = [], 0
        for item in sorted(Path(local_path).rglob("*")):
            if item.is_file():
                relative = item.relative_to(local_path).as_posix()
                self.store.put_file(f"{remote_path}/{relative}", item)
                files.append({"path": relative, "size": item.stat().st_size})
                size += item.stat().st_size
        return {"files": files, "file_count": len(files), "total_size": size}

    def get_fsmap(self, remote_path: Any):
        """A mapping for zarr and friends; whatever is written under it belongs to the row."""
        record_write(self.store, str(remote_path).rstrip("/") + "/")
        return self.store.fsmap(str(remote_path))

    def exists(self, remote_path: Any) -> bool:
        return self.store.exists(str(remote_path))

    def isdir(self, remote_path: Any) -> bool:
        return bool(self.fs.isdir(self._full(remote_path)))

    def size(self, remote_path: Any) -> int:
        return self.store.size(str(remote_path))

    def open(self, remote_path: Any, mode: str = "rb"):
        return self.store.open(str(remote_path), mode)

    def remove(self, remote_path: Any) -> None:
        self.store.remove(str(remote_path))

    def remove_folder(self, remote_path: Any) -> None:
        self.store.remove(str(remote_path).rstrip("/") + "/")

    def get_url(self, remote_path: Any) -> str:
        protocol = self.store.protocol
        return f"{protocol}://{self._full(remote_path)}"


class SchemaCodec(Codec, register=False):
    """Base of codecs whose objects live at schema-addressed paths (DataJoint 2.x's API).

    Subclasses set ``name`` and write ``encode``/``decode``/``validate`` with the helpers
    below; they are declared ``<name@>`` or ``<name@store>`` and stored as JSON.
    """

    def get_dtype(self, is_store: bool) -> str:
        return store_only_dtype(self.name, "keeps its objects in", is_store)

    def _extract_context(self, key: dict | None,
                         context: dict | None = None) -> tuple[str, str, str, dict]:
        """(schema, table, field, primary key) of the row being inserted."""
        key = dict(key or {})
        if context is None and any(k.startswith("_") for k in key):
            warnings.warn("Reading connection context from the `key` dict is deprecated in "
                          "DataJoint 2.3.4; accept a `context` argument in encode()/decode() "
                          "and pass it to _extract_context(key, context)",
                          DeprecationWarning, stacklevel=2)
        context = context or {}
        if not (context.get("schema") or key.get("_schema")):
            raise DataJointError(f"<{self.name}@> values are stored for a row of a table; "
                                 "insert them through a table")
        schema = context.get("schema") or key["_schema"]
        table = context.get("table") or key.get("_table", "unknown")
        field = context.get("field") or key.get("_field", "data")
        primary = {k: v for k, v in key.items() if not k.startswith("_")}
        return schema, table, field, primary

    def _build_path(self, schema: str, table: str, field: str, primary_key: dict,
                    ext: str | None = None, store_name: str | None = None,
                    config: Any = None) -> tuple[str, str]:
        """A fresh path ``{schema_prefix}/[partitions/]{schema}/{table}/{pk}/{field}_{token}
        {ext}`` in the store's layout, and its token."""
        if ext and not ext.startswith("."):
            ext = "." + ext
        store = get_store(store_name)
        row = {"_schema": schema, "_table": table, "_field": field, **primary_key}
        path = store.layout.object_path(row, ext or "")
        token = path.rsplit("/", 1)[-1][len(field) + 1:]
        return path, token[:len(token) - len(ext or "")]

    def _get_backend(self, store_name: str | None = None, config: Any = None) -> StoreBackend:
        """The store called ``store_name`` (None or "": the default store)."""
        return StoreBackend(get_store(store_name or None))

    def referenced_paths(self, stored: Any) -> list[tuple[str, str]]:
        """The object a row refers to; a folder (e.g. a Zarr store) as ``path/``."""
        if not (isinstance(stored, dict) and "path" in stored):
            return []
        store = get_store(stored.get("store") or None)
        path = str(stored["path"])
        is_dir = bool(store.fs.isdir(store.full_path(path)))
        return [(store.name, path + "/" if is_dir else path)]
