"""Object lifecycle: how objects are written, shared, kept and removed, so that no committed
row ever points at a missing object (DESIGN §5, invariants 1 and 2).

Two kinds of objects
  *Owned* objects (``<npy@>``, ``<object@>``, ``<zarr@>``, staged inserts) live at a fresh
  schema-addressed path (``_schema/.../{field}_{random token}``) that exactly one row uses.
  *Shared* objects (``<hash@>``, ``<blob@>``, ``<attach@>``: content-addressed,
  ``_hash/{schema}/{digest}``) are stored once per schema and may be used by rows of many
  transactions, committed or in flight, that this session cannot see.

Writing (``storage.share_object``, ``storage.journal``)
  - An insert records every object it writes or reuses in its :class:`~.storage.Journal`.
  - A shared object that is already there is *refreshed* (its modification time set to now:
    ``utime`` on a local folder, a server-side copy onto itself on S3), and written again if
    it has vanished. So a reused object is as young as a new one, before the row commits.
  - Before an insert sends its rows, and again before a transaction commits, the objects
    written or reused are refreshed again if their time is older than a quarter of the grace
    period (``stores.gc_grace_seconds``); a shorter insert or transaction does no I/O for
    this. An owned object, or a shared one whose bytes
    are not at hand, found missing then makes the commit fail (the transaction rolls back).
  - After the commit, each *reused* object is checked to be there, and written again (its
    bytes were kept) if gc removed it meanwhile.

Failing and rolling back
  - A failed insert, or a rolled-back transaction, removes its *owned* objects only: no
    other row can use them. It never removes a shared object, even one it wrote: another
    session may have found it, reused it and committed meanwhile (the *rollback race*).
    Shared objects left unreferenced are removed by gc.
  - A statement that fails part-way (a multi-row insert failing on a later row, whatever the
    exception) never leaves its earlier rows behind: outside a transaction its own
    transaction is rolled back at once; inside one, the transaction is doomed — it can only
    roll back (``Connection.doom``), and the owned objects are removed when it does.

Deleting rows
  ``delete()`` reads the objects of the rows it removes inside its transaction and removes
  their *owned* objects after the commit; shared objects are left to gc.

Collecting (:func:`collect`, ``schema.gc()``)
  1. List the schema's objects in every store (``_hash/{schema}/``, ``_schema/[...]{schema}/``).
  2. *Then* read the references of every committed row (time ``Tr``), so that a row
     committed before the listing is seen.
  3. Candidates: listed, unreferenced, and older than the grace period at listing time.
  4. Right before removing each one, read its time again (a local file is first renamed
     aside atomically and its time read then) and keep it if it was refreshed within the
     grace period. Stop removing once ``Tr`` is older than half the grace period.

Why a row never points at a missing object (W: a writer whose row uses object X, committing
at ``Tc``; its last write or refresh of X at ``Tt``, so ``Tc - Tt <= grace/4``. G: gc,
removing X at ``Td``, having read X's time at ``Ts <= Td``, with ``Ts - Tr <= grace/2``):
  - If ``Tc < Tr``, G sees W's row and keeps X.
  - If ``Tt <= Ts``, G read a time ``>= Tt``, so removing X needs ``Tt <= Ts - grace``;
    with ``Tc > Tr`` that gives ``Tr < Tc <= Tt + grace/4 <= Ts - 3/4 grace``, which G's
    bound ``Ts - Tr <= grace/2`` forbids. So X is kept.
  - If ``Tt > Ts``, W refreshed X after G read its time. On a local folder G had renamed X
    aside before reading it, so W's refresh found X missing and wrote it again. Elsewhere
    (S3 and other fsspec stores have no atomic rename or conditional delete), W's refresh
    may fall between G's time check and its delete; W's after-commit check then writes X
    again. What remains open there: G stalls between one ``HEAD`` and the ``DELETE`` that
    follows it for longer than W takes to refresh X, commit and check it — or W dies
    between its commit and that check. For this, X must also have been unreferenced and
    older than the grace period, and W must reuse exactly X in that moment.
  - A rollback never removes a shared object, and an owned object belongs to one row: a
    rollback or a failed insert cannot remove an object a committed row uses.
The grace period also protects the objects of inserts in flight (written, not committed):
they are younger than it; a transaction open longer than that is protected by its refresh
before commit, and cannot commit if gc took one of its objects meanwhile. While gc holds a
local file renamed aside (a stat long), a reader of a row committed after gc read the
references could find it missing for that moment; it is back, or written again, at once.
Clocks: G compares the store's times with its own clock; a store clock behind G's shortens
the grace period by the difference.
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
    "kept": n, "referenced": n, "bytes": unreferenced bytes}``; ``kept`` counts candidates
    found in use (refreshed) right before their removal, or left because the run took longer
    than half the grace period (see the module docstring).
    """

    grace = config["stores.gc_grace_seconds"] if grace_seconds is None else grace_seconds
    listed = _list_objects(schema.database)  # first the objects, then the references
    references_read = time.time()
    referenced: set[tuple[str, str]] = set()
    for name in schema.list_tables():
        referenced |= referenced_objects(schema.get_table(name))
    unreferenced, too_young, size = [], 0, 0
    for item, seen in listed:
        if _is_referenced(item.store, item.path, referenced):
            continue
        if seen - item.modified < grace:
            too_young += 1
            continue
        unreferenced.append((item.store, item.path))
        size += item.size
    removed, kept = ([], 0) if dry_run else _remove_unused(unreferenced, grace,
                                                           references_read)
    if removed:
        logger.info("gc removed %d object(s) from schema %s", len(removed), schema.database)
    return {"unreferenced": unreferenced, "removed": removed, "too_young": too_young,
            "kept": kept, "referenced": len(referenced), "bytes": size}


def _list_objects(database: str) -> list[tuple[Any, float]]:
    """Every object of the schema in every store, with the time it was listed."""
    listed: list[tuple[Any, float]] = []
    for store_name in sorted(store_names()):
        store = get_store(store_name)
        try:
            items = list(store.schema_objects(database))
        except Exception as error:  # noqa: BLE001 - refuse to act on a partial listing
            raise DataJointError(f"gc: cannot list store {store_name!r} "
                                 f"({type(error).__name__}: {error}); nothing was "
                                 "removed") from None
        now = time.time()
        listed.extend((item, now) for item in items)
    return listed


def _remove_unused(candidates: list[tuple[str, str]], grace: float,
                   references_read: float) -> tuple[list[tuple[str, str]], int]:
    """Remove each candidate unless refreshed within ``grace`` (checked right before its
    removal); stop once the references read at ``references_read`` are older than half the
    grace period. Returns (removed, how many were kept)."""
    stop = references_read + grace / 2 if grace > 0 else float("inf")
    removed: list[tuple[str, str]] = []
    for number, (store_name, path) in enumerate(candidates):
        now = time.time()
        if now > stop:
            logger.warning("gc stopped after %d removal(s): its view of the references is "
                           "older than half the grace period; run it again", len(removed))
            return removed, len(candidates) - number
        if get_store(store_name).remove_unused(path, cutoff=now - grace):
            removed.append((store_name, path))
    return removed, len(candidates) - len(removed)
