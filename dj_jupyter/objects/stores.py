"""Object stores: where ``<blob@>``, ``<attach@>``, ``<hash@>`` and ``<npy@>`` values live.

Stores are configured in ``dj.config["stores"]`` (or the ``DJ_STORES`` JSON variable)::

    {"default": "main",
     "main": {"protocol": "file", "location": "/data/objects"},
     "lab": {"protocol": "s3", "endpoint": "http://127.0.0.1:9000", "bucket": "lab",
             "location": "pipeline", "access_key": "...", "secret_key": "..."}}

Any other fsspec protocol is passed through (``"options"`` holds its keyword arguments).
With no stores configured, ``<name@>`` uses an implicit local folder store named ``local``:
``datajoint_store/`` next to the SQLite file named by ``database.path``.

Every object an insert writes or reuses is recorded in a :class:`Journal`. Objects owned by
one row (schema-addressed, at a fresh path) are removed again when the insert, or the
transaction around it, fails; content-addressed objects, which other rows may share, are never
removed by a failure or a rollback: they are refreshed when reused and left to ``schema.gc()``.
The whole object lifecycle, and why no row can point at a missing object, is in :mod:`.gc`.

Every object path is built here, from the store's layout keys (reference §3)::

    hash-addressed    {hash_prefix}/{schema}/[ab/cd/]{hash}      (subfolding [2, 2])
    schema-addressed  {schema_prefix}/[{part}={v}/...]{schema}/{table}/{pk}={v}/...
                          .../{field}_{token}{ext}

``partition_pattern`` (``"subject_id/session"``) moves those key attributes in front of the
schema; ``token_length`` (default 8, clamped to 4..16) sets the random suffix that keeps every
write at a fresh path; ``filepath_prefix`` is the folder ``<filepath@>`` paths must lie in.

Long module: a store, its layout and the journal that makes object writes follow the
transaction are one protocol; split, each part would reach into the others.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..errors import ConfigError, DataJointError
from ..settings import config, parse_partition_pattern

__all__ = ["stores_config", "Store", "StoreLayout", "get_store", "store_names", "Journal",
           "journal", "StoredObject", "IMPLICIT_STORE", "HASH_PREFIX", "SCHEMA_PREFIX", "path_part",
           "share_object", "record_write"]

logger = logging.getLogger("dj_jupyter")

IMPLICIT_STORE = "local"
HASH_PREFIX = "_hash"
SCHEMA_PREFIX = "_schema"


@dataclass(frozen=True)
class StoredObject:
    """One object in a store: its path relative to the store root, size and age."""

    store: str
    path: str
    size: int
    modified: float  # POSIX seconds


def path_part(value: Any) -> str:
    """A primary-key value as a safe path component (datetimes without colons; long text
    shortened with a digest)."""
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%dT%H-%M-%S")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > 64:
        text = text[:48] + "_" + hashlib.md5(text.encode()).hexdigest()[:8]
    return urllib.parse.quote(text, safe="-_.")


@dataclass(frozen=True)
class StoreLayout:
    """Where a store puts its objects: prefixes, subfolding, partitions, token length."""

    hash_prefix: str = HASH_PREFIX
    schema_prefix: str = SCHEMA_PREFIX
    filepath_prefix: str | None = None
    subfolding: tuple[int, ...] = ()
    partition: tuple[str, ...] = ()
    token_length: int = 8

    @classmethod
    def from_spec(cls, spec: dict) -> StoreLayout:
        length = int(spec.get("token_length", 8))
        return cls(hash_prefix=str(spec.get("hash_prefix", HASH_PREFIX)).strip("/"),
                   schema_prefix=str(spec.get("schema_prefix", SCHEMA_PREFIX)).strip("/"),
                   filepath_prefix=(str(spec["filepath_prefix"]).strip("/")
                                    if spec.get("filepath_prefix") else None),
                   subfolding=tuple(int(n) for n in spec.get("subfolding") or ()),
                   partition=parse_partition_pattern(spec.get("partition_pattern")),
                   token_length=min(16, max(4, length)))

    def hash_path(self, schema: str, digest: str) -> str:
        """``{hash_prefix}/{schema}/[ab/cd/]{digest}``."""
        folds, at = [], 0
        for width in self.subfolding:
            folds.append(digest[at:at + width])
            at += width
        return "/".join([self.hash_prefix, schema, *folds, digest])

    def object_path(self, key: dict, ext: str = "") -> str:
        """A fresh schema-addressed path for the field ``key["_field"]`` of the row ``key``
        (``key`` holds ``_schema``, ``_table``, ``_field`` and the primary-key values)."""
        values = {k: v for k, v in key.items() if not k.startswith("_")}
        first = [f"{k}={path_part(values.pop(k))}" for k in self.partition if k in values]
        token = secrets.token_urlsafe(self.token_length)[:self.token_length]
        return "/".join([self.schema_prefix, *first, key["_schema"], key["_table"],
                         *(f"{k}={path_part(v)}" for k, v in values.items()),
                         f"{key['_field']}_{token}{ext}"])

    def is_schema_addressed(self, path: str) -> bool:
        return path.startswith(self.schema_prefix + "/")

    def is_managed(self, path: str) -> bool:
        """Whether ``path`` lies where dj_jupyter writes (hash- or schema-addressed)."""
        return path.startswith(self.hash_prefix + "/") or self.is_schema_addressed(path)

    def schema_of(self, path: str) -> str | None:
        """The schema a managed path belongs to (partition folders skipped), else None."""
        for prefix in (self.hash_prefix, self.schema_prefix):
            if path.startswith(prefix + "/"):
                parts = path[len(prefix) + 1:].split("/")
                if prefix == self.schema_prefix and self.partition:
                    parts = parts[len([p for p in parts[:len(self.partition)] if "=" in p]):]
                return parts[0] if len(parts) > 1 else None
        return None


class Store:
    """One configured object store, over an fsspec filesystem.

    Paths given to its methods are relative to the store's root (``location``, inside
    ``bucket`` for S3). Credentials are held by the filesystem and never shown.
    """

    def __init__(self, name: str, spec: dict):
        self.name = name
        self.protocol = spec["protocol"]
        self._spec = dict(spec)
        self._fs = None
        self._async_fs: tuple[int, Any] | None = None
        self.layout = StoreLayout.from_spec(spec)
        location = str(spec.get("location", "")).strip("/") if self.protocol != "file" else ""
        if self.protocol == "file":
            self.root = str(Path(spec["location"]).expanduser().resolve())
        elif self.protocol == "s3":
            self.root = "/".join(p for p in (spec["bucket"].strip("/"), location) if p)
        else:
            self.root = location

    def __repr__(self) -> str:
        return f"<dj.Store {self.name!r} {self.protocol}://{self.root}>"

    # -- the filesystem -------------------------------------------------------------------
    @property
    def fs(self):
        if self._fs is None:
            self._fs = self._make_fs()
        return self._fs

    @property
    def async_fs(self):
        """An asynchronous twin of :attr:`fs` for reading many small objects by key (zarr
        chunks and metadata), made once per store; None except on S3.

        It reads an object with one GET: the store's ``fs`` first asks S3 for the size of
        every object it reads whole (a HEAD, to split reads over 50 MiB among connections),
        one more request per zarr chunk; and zarr, given ``fs``, makes a new client per open.
        A forked worker makes its own (the client belongs to the parent's event loop).
        """
        if self.protocol != "s3":
            return None
        if self._async_fs is None or self._async_fs[0] != os.getpid():  # not a forked copy
            self._async_fs = (os.getpid(), self._make_fs(asynchronous=True, max_concurrency=1))
        return self._async_fs[1]

    def _make_fs(self, **overrides: Any):
        import fsspec

        spec = self._spec
        try:
            if self.protocol == "file":
                return fsspec.filesystem("file", auto_mkdir=True)
            if self.protocol == "s3":
                client: dict[str, Any] = {}
                if spec.get("endpoint"):
                    endpoint = str(spec["endpoint"])
                    if "://" not in endpoint:
                        secure = spec.get("secure", True)
                        endpoint = ("https://" if secure else "http://") + endpoint
                    client["endpoint_url"] = endpoint
                return fsspec.filesystem(
                    "s3", key=spec.get("access_key"), secret=spec.get("secret_key"),
                    anon=not spec.get("access_key"), client_kwargs=client,
                    use_listings_cache=False, skip_instance_cache=True,
                    **{**spec.get("options", {}), **overrides})
            return fsspec.filesystem(self.protocol, **spec.get("options", {}))
        except ImportError as error:
            extra = " (pip install 'dj-jupyter[s3]')" if self.protocol == "s3" else ""
            raise ConfigError(f"store {self.name!r}: protocol {self.protocol!r} needs a package "
                              f"that is not installed{extra}: {error.name}") from None
        except Exception as error:  # noqa: BLE001 - never echo the options (secrets)
            raise ConfigError(f"store {self.name!r}: cannot open the {self.protocol!r} "
                              f"filesystem ({type(error).__name__}); check its configuration "
                              "in dj.config['stores']") from None

    def full_path(self, path: str) -> str:
        path = path.strip("/")
        return f"{self.root}/{path}" if path else self.root

    # -- objects ----------------------------------------------------------------------------
    def put_bytes(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(self.full_path(path), bytes(data))

    def put_file(self, path: str, local: str | Path) -> None:
        """Copy the local file ``local`` to ``path`` (streamed, not read into memory)."""
        full = self.full_path(path)
        if self.protocol == "file":
            Path(full).parent.mkdir(parents=True, exist_ok=True)
        self.fs.put_file(str(local), full)

    def local_path(self, path: str) -> Path | None:
        """The object's path on this machine, for a local-folder store (else None)."""
        return Path(self.full_path(path)) if self.protocol == "file" else None

    def put_npy(self, path: str, array: Any) -> int:
        """Write ``array`` as a ``.npy`` object in one buffered stream (no copy in memory);
        returns where the array's bytes start in the object (the header's length)."""
        import numpy as np

        local = self.local_path(path)
        if local is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
            with open(local, "wb") as out:  # a real file: numpy writes the buffer directly
                np.save(out, array, allow_pickle=False)
                return out.tell() - array.nbytes
        with self.fs.open(self.full_path(path), "wb") as out:
            np.save(out, array, allow_pickle=False)
            return out.tell() - array.nbytes

    def info(self, path: str) -> dict:
        """fsspec's description of ``path`` (``type`` is ``file`` or ``directory``)."""
        return self.fs.info(self.full_path(path))

    def get_bytes(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        """The object's bytes, or only ``[start, end)`` of them (a ranged read)."""
        try:
            return self.fs.cat_file(self.full_path(path), start=start, end=end)
        except FileNotFoundError:
            raise DataJointError(f"object {path!r} is missing from store {self.name!r}; it "
                                 "was removed outside dj_jupyter") from None

    def open(self, path: str, mode: str = "rb"):
        return self.fs.open(self.full_path(path), mode)

    def exists(self, path: str) -> bool:
        return self.fs.exists(self.full_path(path))

    def size(self, path: str) -> int:
        return int(self.fs.size(self.full_path(path)))

    def remove(self, path: str) -> None:
        """Remove the object ``path``; a path ending in ``/`` is a folder, removed with all
        it holds."""
        with contextlib.suppress(FileNotFoundError):
            if path.endswith("/"):
                full = self.full_path(path)
                if self.fs.exists(full):
                    self.fs.rm(full, recursive=True)
            else:
                self.fs.rm_file(self.full_path(path))

    # -- the object lifecycle (see gc.py) -------------------------------------------------
    def refresh(self, path: str) -> bool:
        """Mark the file ``path`` as used now (its modification time becomes now), so that
        gc's grace period starts again; False if it is missing.

        Local folders set the time (``utime``); S3 copies the object onto itself with a new
        metadata value (server-side: a fresh ``LastModified``, the same bytes); another
        filesystem is asked to touch the file, else the file is written again.
        """
        full = self.full_path(path)
        local = self.local_path(path)
        try:
            if local is not None:
                os.utime(local)
            elif self.protocol == "s3":
                self.fs.setxattr(full, dj_used=f"{time.time():.6f}")
            else:
                self._touch_other(full)
        except FileNotFoundError:
            return False
        return True

    def _touch_other(self, full: str) -> None:
        if not self.fs.exists(full):  # fsspec's touch would create an empty file
            raise FileNotFoundError(full)
        try:
            self.fs.touch(full, truncate=False)
        except (NotImplementedError, ValueError):  # no way to set the time: write it again
            self.fs.pipe_file(full, self.fs.cat_file(full))

    def put_shared(self, path: str, data: bytes) -> None:
        """Write a content-addressed object so that a reader never sees it half-written: a
        local file is written aside and moved into place (object stores write atomically)."""
        local = self.local_path(path)
        if local is None:
            self.put_bytes(path, data)
            return
        local.parent.mkdir(parents=True, exist_ok=True)
        aside = local.with_name(f"{local.name}.{secrets.token_hex(6)}.tmp")
        try:
            aside.write_bytes(bytes(data))
            os.replace(aside, local)
        finally:
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()

    def modified(self, path: str) -> float | None:
        """The file's modification time (POSIX seconds), None if it is missing."""
        try:
            return _mtime(self.info(path))
        except FileNotFoundError:
            return None

    def remove_unused(self, path: str, cutoff: float) -> bool:
        """Remove the file ``path`` unless it was written or refreshed after ``cutoff``; True
        if it was removed.

        A local file is first renamed aside (atomically), then its time is read: a writer
        that refreshed it before the rename is seen (the file is moved back), one that comes
        after finds it missing and writes it again. Elsewhere (no rename) the time is read
        right before the delete; see gc.py for what that leaves open.
        """
        local = self.local_path(path)
        if local is None:
            stamp = self.modified(path)
            if stamp is None or stamp > cutoff:
                return False
            self.remove(path)
            return True
        aside = local.with_name(f"{local.name}.{secrets.token_hex(6)}.gc")
        try:
            os.rename(local, aside)
        except FileNotFoundError:
            return False
        if aside.stat().st_mtime > cutoff:  # refreshed meanwhile: it is in use
            os.replace(aside, local)  # same content if a writer has written it again
            return False
        aside.unlink()
        return True

    def fsmap(self, path: str):
        """An fsspec mapping rooted at ``path`` (e.g. for ``zarr.open``)."""
        return self.fs.get_mapper(self.full_path(path))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object under ``prefix``, with its size and modification time."""
        base = self.full_path(prefix)
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        root = self.root.rstrip("/") + "/"
        for full, info in found.items():
            if info.get("type") == "directory":
                continue
            relative = full[len(root):] if full.startswith(root) else full
            yield StoredObject(self.name, relative, int(info.get("size") or 0), _mtime(info))

    walk = list

    def schema_objects(self, schema: str) -> Iterator[StoredObject]:
        """Every object dj_jupyter wrote in this store for ``schema`` (for GC)."""
        layout = self.layout
        yield from self.list(f"{layout.hash_prefix}/{schema}")
        if not layout.partition:
            yield from self.list(f"{layout.schema_prefix}/{schema}")
            return
        for item in self.list(layout.schema_prefix):  # partitions come before the schema
            if layout.schema_of(item.path) == schema:
                yield item


def _mtime(info: dict) -> float:
    for key in ("mtime", "LastModified", "last_modified", "modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            return value.timestamp()
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return float(value)
    return 0.0  # unknown age counts as old


# -- configuration ---------------------------------------------------------------------------

_CACHE: dict[tuple[str, str], Store] = {}


def stores_config() -> dict:
    return config["stores"]


def default_store_name() -> str:
    stores = stores_config()
    if "default" in stores:
        return stores["default"]
    named = [n for n in stores if n not in ("default", "filepath_default")]
    if not named:
        return IMPLICIT_STORE
    if len(named) == 1:
        return named[0]
    raise ConfigError(f"several stores are configured ({', '.join(named)}) but none is the "
                      "default; set dj.config['stores']['default'] to one of them, or name the "
                      "store in the type (<blob@name>)")


def _implicit_spec() -> dict:
    folder = Path(config["database.path"]).expanduser().resolve().parent / "datajoint_store"
    return {"protocol": "file", "location": str(folder)}


def store_names() -> list[str]:
    """The names of the configured stores (the implicit local store when none is)."""
    stores = stores_config()
    named = [n for n in stores if n not in ("default", "filepath_default")]
    return named or [IMPLICIT_STORE]


def get_store(name: str | None = None) -> Store:
    """The store called ``name`` (``None`` or ``""``: the default store)."""
    stores = stores_config()
    if not name:
        name = default_store_name()
    if name in ("default", "filepath_default"):
        raise ConfigError(f"{name!r} is not a store name")
    spec = stores.get(name)
    if spec is not None:  # checked here too: a store may have been changed in place
        from ..settings import with_store_secrets

        spec = with_store_secrets(name, config.get_store_spec(name))
    if spec is None:
        if name != IMPLICIT_STORE:
            known = ", ".join(store_names())
            raise ConfigError(f"no store named {name!r} is configured (stores: {known}); add "
                              f"it to dj.config['stores'], e.g. {{'{name}': {{'protocol': "
                              "'file', 'location': '/path/to/folder'}}")
        spec = _implicit_spec()
    cache_key = (name, json.dumps(spec, sort_keys=True, default=str))
    store = _CACHE.get(cache_key)
    if store is None:
        store = _CACHE[cache_key] = Store(name, spec)
    return store


# -- the write journal -------------------------------------------------------------------------


@dataclass
class _Shared:
    """A content-addressed object an insert wrote or reused (never removed by the insert)."""

    store: Store
    path: str
    refreshed: float  # time.time() of the write or the last refresh
    data: bytes | None  # kept for a reused object, to write it again if gc removed it


class Journal:
    """The objects one insert wrote or reused (see :mod:`.gc` for the lifecycle).

    ``created`` (objects owned by the insert's rows) are removed again if the insert does not
    commit; ``shared`` (content-addressed) objects never are: before the transaction commits
    they are refreshed if their time is getting old, and a reused one that has vanished by
    the commit is written again.
    """

    def __init__(self) -> None:
        self.created: list[tuple[Store, str]] = []
        self.shared: list[_Shared] = []
        self.started = time.time()  # every object in ``created`` was written after this

    def record(self, store: Store, path: str) -> None:
        self.created.append((store, path))

    def record_shared(self, store: Store, path: str, data: bytes | None) -> None:
        self.shared.append(_Shared(store, path, time.time(), data))

    def adopt(self, other: Journal) -> None:
        """Take over what a nested (inner) journal recorded."""
        self.created.extend(other.created)
        self.shared.extend(other.shared)
        self.started = min(self.started, other.started)

    def undo(self) -> None:
        """Remove the objects this insert owns (its rows are gone)."""
        for store, path in reversed(self.created):
            try:
                store.remove(path)
            except Exception as error:  # noqa: BLE001 - GC removes what we could not
                logger.warning("could not remove %s from store %s (%s); gc() will",
                               path, store.name, type(error).__name__)
        self.created.clear()
        self.shared.clear()

    def keep_fresh(self) -> None:
        """Before the commit: refresh every object last written or refreshed more than a
        quarter of ``stores.gc_grace_seconds`` ago (none, for a transaction that short).

        An object gc removed meanwhile is written again if its bytes are at hand; otherwise
        the commit is refused (the transaction rolls back) rather than let a row point at it.
        """
        old = time.time() - config["stores.gc_grace_seconds"] / 4
        for entry in self.shared:
            if entry.refreshed >= old:
                continue
            if not entry.store.refresh(entry.path):
                if entry.data is None:
                    _vanished(entry.store, entry.path)
                entry.store.put_shared(entry.path, entry.data)
            entry.refreshed = time.time()
        if self.started < old:
            for store, path in self.created:
                _refresh_owned(store, path)
            self.started = time.time()

    def verify_shared(self) -> None:
        """After the commit: a reused object gc removed while the commit was on its way is
        written again (its bytes were kept for this); then let go of the bytes."""
        for entry in self.shared:
            if entry.data is not None and not entry.store.exists(entry.path):
                logger.warning("object %s was removed from store %s while its row committed; "
                               "writing it again", entry.path, entry.store.name)
                entry.store.put_shared(entry.path, entry.data)
        self.shared.clear()


def _refresh_owned(store: Store, path: str) -> None:
    """Refresh an object owned by the transaction's rows (every file of a folder)."""
    files = [item.path for item in store.list(path)] if path.endswith("/") else [path]
    if not files or not all(store.refresh(file) for file in files):
        _vanished(store, path)


def _vanished(store: Store, path: str) -> NoReturn:
    raise DataJointError(
        f"object {path!r} of this transaction was removed from store {store.name!r} by "
        "schema.gc() before the transaction committed (it ran longer than "
        "dj.config['stores.gc_grace_seconds'] allows); nothing was committed — raise "
        "the grace period or run it again")


_JOURNAL: contextvars.ContextVar[Journal | None] = contextvars.ContextVar("dj_journal",
                                                                          default=None)


def record_write(store: Store, path: str) -> None:
    """Note an object owned by the row being inserted, so a failed insert can remove it."""
    current = _JOURNAL.get()
    if current is not None:
        current.record(store, path)


def share_object(store: Store, path: str, data: bytes) -> None:
    """Store a content-addressed object (deduplicated): an object already there is reused and
    refreshed — before the row referring to it commits — and written again if it has
    vanished; a new one is written. Either way it is never removed on the insert's failure."""
    reused = store.refresh(path)
    if not reused:
        store.put_shared(path, data)
    current = _JOURNAL.get()
    if current is not None:
        current.record_shared(store, path, bytes(data) if reused else None)


@contextlib.contextmanager
def journal(connection: Any = None) -> Iterator[Journal]:
    """Record the objects written or reused inside the block (see :class:`Journal`).

    If the block raises, the objects its rows own are removed at once — or, when a
    statement failed part-way inside an open transaction (which is then doomed, see
    ``Connection.doom``), when that transaction rolls back. When the block succeeds inside an
    open transaction, the objects follow it: removed on rollback, kept fresh before commit.
    """
    outer = _JOURNAL.get()
    current = Journal()
    token = _JOURNAL.set(current)
    try:
        yield current
    except BaseException:
        if connection is not None and connection.is_doomed:
            connection.after_rollback(current.undo)  # its rows are still in the transaction
        else:
            current.undo()
        raise
    finally:
        _JOURNAL.reset(token)
    if not (current.created or current.shared):
        return
    if outer is not None:
        outer.adopt(current)
    elif connection is not None and connection.in_transaction:
        connection.after_rollback(current.undo)
        connection.before_commit(current.keep_fresh)
        connection.after_commit(current.verify_shared)
    else:
        current.verify_shared()
