"""``<object@store>`` and ``<filepath@store>``: files and folders in an object store.

- ``<object@store>``: bytes, a local file or folder (copied recursively) or ``(ext, bytes)``,
  written to a path derived from the row's key,
  ``_schema/{schema}/{table}/{pk=value}/.../{field}_{token}{ext}``. The object belongs to the
  row: it is removed when the insert fails and after the row is deleted, and ``schema.gc()``
  knows it (a folder covers everything under it).
- ``<filepath@store>``: a path, relative to the store, of a file or folder that is already
  there. Only recorded: dj_jupyter never writes, moves or removes it.

Both fetch as an :class:`ObjectRef`, which reads nothing from the store until asked.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import DataJointError, IntegrityError
from ..stores import get_store, record_write, stores_config
from .base import Codec, store_only_dtype, with_context
from .stored import row_key, schema_of

__all__ = ["ObjectCodec", "FilepathCodec", "ObjectRef", "Prestored"]

_EXT = re.compile(r"^(\.[A-Za-z0-9_-]{1,16}){0,3}$")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def normal_extension(ext: str) -> str:
    if ext and not ext.startswith("."):
        ext = "." + ext
    if not _EXT.match(ext):
        raise ValueError(f"{ext!r} is not a file extension such as '.zarr' or '.tar.gz'")
    return ext


class Prestored:
    """The metadata of an object ``staged_insert1`` already wrote in place (internal)."""

    __slots__ = ("meta",)

    def __init__(self, meta: dict):
        self.meta = meta

    def encoded(self, store_name: str | None, key: dict | None) -> dict:
        """The metadata, once checked to name this store and the row's own folder."""
        store = get_store(store_name)
        schema = schema_of(key, "object")
        path = self.meta["path"]
        if self.meta["store"] != store.name or store.layout.schema_of(path) != schema:
            raise ValueError(f"staged object {path!r} does not belong to this attribute")
        return self.meta


class ObjectRef:
    """A lazy reference to a file or folder in a store.

    The metadata (``.path``, ``.store``, ``.size``, ``.ext``, ``.is_dir``, ``.item_count``,
    ``.timestamp``) needs no I/O; ``.read()``, ``.open()``, ``.listdir()``, ``.walk()``,
    ``.download()``, ``.exists()`` and ``.fsmap`` go to the store when called.
    """

    def __init__(self, meta: dict):
        self.path: str = meta["path"]
        self.store: str | None = meta.get("store")  # None: the default store
        self.size: int | None = meta.get("size")
        self.ext: str = meta.get("ext") or ""
        self.is_dir: bool = bool(meta.get("is_dir"))
        self.item_count: int | None = meta.get("item_count")
        self.timestamp: str | None = meta.get("timestamp")

    def __repr__(self) -> str:
        kind = "folder" if self.is_dir else "file"
        return (f"ObjectRef({kind} {self.path!r}, store={self.store!r}, "
                f"size={self.size})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ObjectRef) and self.store == other.store
                and self.path == other.path)

    def __hash__(self) -> int:
        return hash((self.store, self.path))

    def to_json(self) -> dict:
        return {"path": self.path, "store": self.store, "size": self.size, "ext": self.ext,
                "is_dir": self.is_dir, "item_count": self.item_count,
                "timestamp": self.timestamp}

    def _store(self):
        return get_store(self.store)

    def _inside(self, subpath: str | None) -> str:
        if not subpath:
            return self.path
        parts = PurePosixPath(str(subpath).replace("\\", "/")).parts
        if ".." in parts or (parts and parts[0] == "/"):
            raise ValueError(f"{subpath!r} must be a relative path inside the object")
        return self.path.rstrip("/") + "/" + "/".join(parts)

    @property
    def full_path(self) -> str:
        """The object's path in the store's filesystem (no credentials)."""
        return self._store().full_path(self.path)

    @property
    def fs(self):
        """The store's fsspec filesystem."""
        return self._store().fs

    @property
    def fsmap(self):
        """An fsspec mapping rooted at the object (``zarr.open(ref.fsmap)``)."""
        return self._store().fsmap(self.path)

    def read(self) -> bytes:
        """The file's bytes."""
        if self.is_dir:
            raise DataJointError(f"{self.path!r} is a folder; use .open(subpath), .listdir() "
                                 "or .download()")
        return self._store().get_bytes(self.path)

    def open(self, subpath: str | None = None, mode: str = "rb"):
        """The file (or the file ``subpath`` inside the folder), opened for reading."""
        if mode not in ("rb", "r"):
            raise ValueError("stored objects are read-only: open them with mode 'rb' or 'r'")
        if self.is_dir and not subpath:
            raise DataJointError(f"{self.path!r} is a folder; name a file in it: "
                                 ".open('sub/file.ext')")
        return self._store().open(self._inside(subpath), mode)

    def walk(self) -> list[str]:
        """Every file in the folder, as paths relative to it (``[""]`` for a file)."""
        if not self.is_dir:
            return [""]
        prefix = self.path.rstrip("/") + "/"
        return sorted(item.path[len(prefix):] for item in self._store().list(self.path)
                      if item.path.startswith(prefix))

    def listdir(self, subpath: str | None = None) -> list[str]:
        """The names of the entries directly in the folder (or in ``subpath`` of it)."""
        if not self.is_dir:
            raise DataJointError(f"{self.path!r} is a file, not a folder")
        base = self._inside(subpath).rstrip("/") + "/"
        inside = base[len(self.path.rstrip("/")) + 1:]
        names = set()
        for relative in self.walk():
            if relative.startswith(inside):
                names.add(relative[len(inside):].split("/", 1)[0])
        return sorted(names)

    def exists(self) -> bool:
        return self._store().exists(self.path)

    def verify(self) -> bool:
        """True when the stored file (or folder) matches this reference's size and item
        count; else :class:`~dj_jupyter.errors.IntegrityError` says what differs."""
        store = self._store()
        if not self.is_dir:
            if not store.exists(self.path):
                raise IntegrityError(f"file {self.path!r} is missing from store {self.store!r}")
            if self.size is not None and store.size(self.path) != self.size:
                raise IntegrityError(f"size mismatch for {self.path!r} in store {self.store!r}: "
                                     f"expected {self.size}, found {store.size(self.path)}")
            return True
        prefix = self.path.rstrip("/") + "/"
        items = [item for item in store.list(self.path) if item.path.startswith(prefix)]
        if not items:
            raise IntegrityError(f"folder {self.path!r} is missing from store {self.store!r}")
        if self.item_count is not None and len(items) != self.item_count:
            raise IntegrityError(f"folder {self.path!r} holds {len(items)} files, expected "
                                 f"{self.item_count}")
        total = sum(item.size for item in items)
        if self.size is not None and total != self.size:
            raise IntegrityError(f"size mismatch for folder {self.path!r}: expected "
                                 f"{self.size} bytes, found {total}")
        return True

    def download(self, dest: str | Path, subpath: str | None = None) -> Path:
        """Copy the file or folder to ``dest`` (into it, when ``dest`` is a folder that
        exists) and return the local path."""
        store = self._store()
        source = self._inside(subpath)
        name = PurePosixPath(source).name
        target = Path(dest)
        if target.is_dir():
            target = target / name
        if self.is_dir and not subpath:
            target.mkdir(parents=True, exist_ok=True)
            for relative in self.walk():
                local = target.joinpath(*relative.split("/"))
                local.parent.mkdir(parents=True, exist_ok=True)
                store.fs.get_file(store.full_path(f"{source}/{relative}"), str(local))
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        store.fs.get_file(store.full_path(source), str(target))
        return target


class ObjectCodec(Codec):
    """``<object@store>``: a file or folder owned by the row, addressed by its key."""

    name = "object"

    def get_dtype(self, is_store: bool) -> str:
        return store_only_dtype(self.name, "keeps files in", is_store)

    def validate(self, value: Any) -> None:
        if isinstance(value, (bytes, bytearray, memoryview, Prestored)):
            return
        if isinstance(value, (str, Path)):
            if not Path(value).exists():
                raise ValueError(f"{str(value)!r} is neither a file nor a folder")
            return
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            normal_extension(value[0])
            if isinstance(value[1], (bytes, bytearray, memoryview)) or \
                    hasattr(value[1], "read"):
                return
        raise TypeError("expected bytes, the path of a file or folder, or (ext, bytes)")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> dict:
        key = with_context(key, context)
        if isinstance(value, Prestored):
            return value.encoded(store_name, key)
        row = row_key(key, self.name)
        local: Path | None = None
        if isinstance(value, (str, Path)):
            local = Path(value)
            ext = normal_extension(local.suffix) if _EXT.match(local.suffix) else ""
            data = None
        elif isinstance(value, tuple):
            ext = normal_extension(value[0])
            data = value[1].read() if hasattr(value[1], "read") else bytes(value[1])
        else:
            ext, data = None, bytes(value)  # no extension: null in the row, as DataJoint
        store = get_store(store_name)
        path = store.layout.object_path(row, ext or "")
        if local is not None and local.is_dir():
            record_write(store, path + "/")  # first: a partial copy is removed too
            size = count = 0
            for item in sorted(local.rglob("*")):
                if item.is_file():
                    relative = item.relative_to(local).as_posix()
                    store.put_file(f"{path}/{relative}", item)
                    size += item.stat().st_size
                    count += 1
            return {"path": path, "store": store.name, "size": size, "ext": ext,
                    "is_dir": True, "item_count": count, "timestamp": _now()}
        record_write(store, path)  # first: a partial write is removed too
        if local is not None:
            store.put_file(path, local)
            size = local.stat().st_size
        else:
            payload = data if data is not None else b""
            store.put_bytes(path, payload)
            size = len(payload)
        return {"path": path, "store": store.name, "size": size, "ext": ext, "is_dir": False,
                "item_count": None, "timestamp": _now()}

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> ObjectRef:
        return ObjectRef(stored)

    def referenced_paths(self, stored: Any) -> list[tuple[str, str]]:
        path = stored["path"] + ("/" if stored.get("is_dir") else "")
        return [(stored["store"], path)]


class FilepathCodec(Codec):
    """``<filepath@store>``: a file or folder already in the store, recorded by its path."""

    name = "filepath"

    def get_dtype(self, is_store: bool) -> str:
        return store_only_dtype(self.name, "names a file in", is_store)

    @staticmethod
    def _relative(value: Any) -> str:
        text = str(value).replace("\\", "/")
        if text.startswith("/"):
            raise ValueError(f"{text!r} must be relative to the store's root")
        parts = [p for p in PurePosixPath(text).parts if p != "."]
        if not parts or ".." in parts:
            raise ValueError(f"{text!r} is not a path inside the store")
        return "/".join(parts)

    def validate(self, value: Any) -> None:
        if not isinstance(value, (str, PurePosixPath, Path)):
            raise TypeError("expected a path relative to the store")
        self._relative(value)

    @staticmethod
    def _check_place(path: str, store: Any) -> None:
        """Refuse paths dj_jupyter manages, and paths outside ``filepath_prefix`` if set."""
        layout = store.layout
        if layout.is_managed(path + "/"):
            raise ValueError(f"{path!r} is under {path.split('/', 1)[0]}/, which dj_jupyter "
                             "manages; <filepath@> refers to files placed in the store by you")
        prefix = layout.filepath_prefix
        if prefix and not (path + "/").startswith(prefix + "/"):
            raise ValueError(f"{path!r} is outside {prefix}/, the filepath_prefix of store "
                             f"{store.name!r}; put the file under {prefix}/")

    def encode(self, value: Any, *, key: dict | None = None,
               store_name: str | None = None, context: dict | None = None) -> dict:
        if not store_name:
            store_name = stores_config().get("filepath_default")
        store = get_store(store_name)
        path = self._relative(value)
        self._check_place(path, store)
        try:
            info = store.info(path)
        except FileNotFoundError:
            raise ValueError(f"{path!r} does not exist in store {store.name!r}; put the file "
                             "there first") from None
        is_dir = info.get("type") == "directory"
        size = sum(item.size for item in store.list(path)) if is_dir else \
            int(info.get("size") or 0)
        return {"path": path, "store": store.name, "size": size, "is_dir": is_dir,
                "timestamp": _now()}

    def decode(self, stored: Any, *, key: dict | None = None,
               context: dict | None = None) -> ObjectRef:
        ext = PurePosixPath(stored["path"]).suffix
        return ObjectRef({**stored, "ext": ext})

    def referenced_paths(self, stored: Any) -> list[tuple[str, str]]:
        return []  # not managed: never removed by delete, invisible to gc
