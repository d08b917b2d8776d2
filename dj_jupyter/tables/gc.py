"""Object lifecycle: the objects rows refer to, their removal after delete, and garbage collection.

- ``delete()`` reads, inside its transaction and before each DELETE, the objects of the rows it
  removes; once the transaction has committed it removes their *schema-addressed* objects
  (``<npy@>``, ``<object@>``, ``<zarr@>``). Hash-addressed objects (``<hash@>``,
  ``<blob@>``, ``<attach@>``) may be shared by other rows, so they are left to :func:`collect`.
- :func:`collect` (``schema.gc()``) lists the objects under ``_hash/{schema}/`` (subfolded or
  not) and ``_schema/[partitions/]{schema}/`` (the store's prefixes) in every configured store,
  finds those no row of the schema refers to, and removes them — except objects younger than
  ``dj.config["stores.gc_grace_seconds"]``, which may belong to an insert still in flight.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..errors import DataJointError
from ..objects.codecs import referenced_paths, storage_spec, uses_store
from ..objects.stores import get_store, store_names
from ..query.fetch import raw_rows
from ..settings import config

__all__ = ["referenced_objects", "remove_objects", "collect"]

logger = logging.getLogger("dj_jupyter")


def _store_attributes(heading) -> list:
    return [a for a in heading.attributes.values() if uses_store(a.type)]


def referenced_objects(query: Any) -> set[tuple[str, str]]:
    """(store, path) of every object the rows of ``query`` refer to."""
    attributes = _store_attributes(query.heading)
    if not attributes:
        return set()
    names = [a.name for a in attributes]
    dialect = query.connection.dialect
    found: set[tuple[str, str]] = set()
    rows = raw_rows(query, names)
    for position, attribute in enumerate(attributes):
        decode = dialect.decoder(storage_spec(attribute.type))
        for row in rows:
            value = row[position]
            if value is None:
                continue
            if decode is not None:
                value = decode(value)
            found.update(referenced_paths(attribute.type, value))
    return found


def remove_objects(objects: set[tuple[str, str]], *, schema_addressed_only: bool = True) -> int:
    """Remove objects (by default only schema-addressed ones); return how many."""
    removed = 0
    for store_name, path in sorted(objects):
        try:
            store = get_store(store_name)
            if schema_addressed_only and not store.layout.is_schema_addressed(path):
                continue
            store.remove(path)
            removed += 1
        except Exception as error:  # noqa: BLE001 - gc() removes what is left
            logger.warning("could not remove %s from store %s (%s); schema.gc() will",
                           path, store_name, type(error).__name__)
    return removed


def _is_referenced(store: str, path: str, referenced: set[tuple[str, str]]) -> bool:
    """Whether ``path`` is referenced itself or lies in a referenced folder (``folder/``)."""
    if (store, path) in referenced:
        return True
    parts = path.split("/")
    return any((store, "/".join(parts[:n]) + "/") in referenced for n in range(1, len(parts)))


def collect(schema: Any, *, dry_run: bool = True, grace_seconds: float | None = None) -> dict:
    """Find (and unless ``dry_run``, remove) the schema's objects that no row refers to.

    Returns ``{"unreferenced": [(store, path), ...], "removed": [...], "too_young": n,
    "referenced": n, "bytes": unreferenced bytes}``.
    """
    grace = config["stores.gc_grace_seconds"] if grace_seconds is None else grace_seconds
    database = schema.database
    referenced: set[tuple[str, str]] = set()
    for name in schema.list_tables():
        referenced |= referenced_objects(schema.get_table(name))
    now = time.time()
    unreferenced, too_young, size = [], 0, 0
    for store_name in sorted(store_names()):
        store = get_store(store_name)
        try:
            listed = list(store.schema_objects(database))
        except Exception as error:  # noqa: BLE001 - refuse to act on a partial listing
            raise DataJointError(f"gc: cannot list store {store_name!r} "
                                 f"({type(error).__name__}: {error}); nothing was "
                                 "removed") from None
        for item in listed:
            if _is_referenced(item.store, item.path, referenced):
                continue
            if now - item.modified < grace:
                too_young += 1
                continue
            unreferenced.append((item.store, item.path))
            size += item.size
    removed = []
    if not dry_run:
        for store_name, path in unreferenced:
            get_store(store_name).remove(path)
            removed.append((store_name, path))
        if removed:
            logger.info("gc removed %d object(s) from schema %s", len(removed), database)
    return {"unreferenced": unreferenced, "removed": removed, "too_young": too_young,
            "referenced": len(referenced), "bytes": size}
