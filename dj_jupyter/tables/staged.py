"""Staged insert: write a row's large objects straight into their place, then insert the row.

::

    with Recording.staged_insert1 as staged:
        staged.rec["subject_id"] = 12            # the full primary key first
        staged.rec["session"] = 3
        ds.to_zarr(staged.store("traces"))       # <zarr@> or <object@>: a folder (fsspec map)
        with staged.open("raw", ".bin") as f:    # <object@>: one file
            f.write(payload)
        staged.rec["note"] = "ok"

On a clean exit the metadata of every staged object is computed (size and file count from a
listing; for ``<zarr@>`` the variables and shapes, from the Zarr metadata only) and the row is
inserted. If the block raises, or the insert fails, every object written is removed and no row
is inserted; inside a transaction (a ``make``), a later rollback removes them too.

Unlike DataJoint, the objects are written at the same paths a plain insert would use (the
table's SQL name, not its class name), so ``delete`` and ``schema.gc()`` treat them alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DataJointError, MissingAttributeError, UnknownAttributeError
from ..objects.codecs.objects import Prestored, normal_extension
from ..objects.stores import get_store, journal

if TYPE_CHECKING:
    from ..objects.stores import Journal, Store
    from .table import Table

__all__ = ["StagedInsert", "staged_insert1"]

STAGEABLE = ("object", "zarr")


@dataclass
class _Staged:
    """One field's object: where it is and how it was written."""

    codec: str
    store: Store
    path: str
    ext: str


class StagedInsert:
    """The ``staged`` of ``with T.staged_insert1 as staged``: ``rec``, ``store()``, ``open()``."""

    def __init__(self, table: Table, written: Journal):
        self.table = table
        self.rec: dict[str, Any] = {}
        self._written = written
        self._staged: dict[str, _Staged] = {}

    def __repr__(self) -> str:
        return f"<staged insert into {self.table.full_table_name}: {sorted(self._staged)}>"

    # -- writing -----------------------------------------------------------------------------
    def store(self, field: str, ext: str = "") -> Any:
        """An fsspec mapper at the field's object path (a folder), e.g. for ``zarr``/xarray."""
        return self._stage(field, ext, folder=True).store.fsmap(self._staged[field].path)

    def open(self, field: str, ext: str = "", mode: str = "wb") -> Any:
        """A file at the field's object path, opened for writing (``<object@>`` only)."""
        if mode not in ("wb", "w"):
            raise DataJointError(f"staged.open writes a new object: use mode 'wb' or 'w', "
                                 f"not {mode!r}")
        staged = self._stage(field, ext, folder=False)
        return staged.store.open(staged.path, mode)

    def _stage(self, field: str, ext: str, *, folder: bool) -> _Staged:
        codec, store_name = self._stageable(field)
        if codec == "zarr" and not folder:
            raise DataJointError(f"{field!r} is a <zarr@> attribute: write it through "
                                 f"staged.store({field!r}), e.g. ds.to_zarr(staged.store(...))")
        ext = ext or (".zarr" if codec == "zarr" else "")
        try:
            ext = normal_extension(ext)
        except ValueError as error:
            raise DataJointError(str(error)) from None
        known = self._staged.get(field)
        if known is not None:
            if known.ext != ext:
                raise DataJointError(f"{field!r} is staged already with extension "
                                     f"{known.ext!r}")
            return known
        store = get_store(store_name)
        key = {"_schema": self.table.database, "_table": self.table.table_name,
               "_field": field, **self._key()}
        path = store.layout.object_path(key, ext)
        self._written.record(store, path + "/")  # removes a file or a folder, written or not
        self._staged[field] = _Staged(codec, store, path, ext)
        return self._staged[field]

    def _stageable(self, field: str) -> tuple[str, str | None]:
        """(codec name, store name) of a field that can be staged, else a clear error."""
        heading = self.table.heading
        if field not in heading:
            raise UnknownAttributeError(f"{self.table.full_table_name} has no attribute "
                                        f"{field!r}; it has {', '.join(heading.names)}")
        spec = heading[field].type
        name, store = spec.args if spec.is_codec else (None, None)
        if name not in STAGEABLE or store is None:
            raise DataJointError(f"{field!r} is not an <object@> or <zarr@> attribute; set "
                                 f"staged.rec[{field!r}] instead")
        return name, store

    def _key(self) -> dict[str, Any]:
        primary = self.table.heading.primary_key
        missing = [k for k in primary if self.rec.get(k) is None]
        if missing:
            raise MissingAttributeError(
                f"set the full primary key before staging objects: staged.rec lacks "
                f"{', '.join(map(repr, missing))} (e.g. staged.rec[{missing[0]!r}] = ...)")
        return {k: self.rec[k] for k in primary}

    # -- finishing ---------------------------------------------------------------------------
    def _finish(self) -> None:
        """Describe every staged object and insert the row."""
        row = dict(self.rec)
        for field, staged in self._staged.items():
            if field in row:
                raise DataJointError(f"{field!r} was staged: do not also set "
                                     f"staged.rec[{field!r}]")
            row[field] = Prestored(_describe(field, staged))
        self.table.insert1(row)


def _describe(field: str, staged: _Staged) -> dict:
    """The column value of a staged object, computed from the store."""
    store, path = staged.store, staged.path
    files = list(store.list(path))
    if not files:
        raise DataJointError(f"nothing was written for {field!r}: write to "
                             f"staged.store({field!r}) or staged.open({field!r}) in the block, "
                             "or leave the field out")
    meta: dict[str, Any] = {"path": path, "store": store.name,
                            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat()}
    if staged.codec == "zarr":
        from ..objects.codecs.zarr import describe_stored

        return {**meta, **describe_stored(store.fsmap(path))}
    is_dir = not (len(files) == 1 and files[0].path == path)
    return {**meta, "size": sum(f.size for f in files), "ext": staged.ext, "is_dir": is_dir,
            "item_count": len(files) if is_dir else None}


@contextlib.contextmanager
def staged_insert1(table: Table) -> Iterator[StagedInsert]:
    """The context manager behind ``Table.staged_insert1``."""
    table._check_insert_allowed(None)
    with journal(table.connection) as written:  # removes the objects if anything fails
        staged = StagedInsert(table, written)
        yield staged
        staged._finish()
