"""The child process of tests/backend/test_object_crash.py: writes objects, then is killed.

``python -m tests.backend.object_crash_child <url> <schema> <mode> <ready-file>``

The store comes from ``DJ_STORES`` (inherited). In mode ``populate`` the child populates
``Result`` for key 3, whose ``make`` inserts a row with objects of every kind and then, still
inside the populate transaction, creates ``<ready-file>`` and sleeps; in mode ``insert`` it
inserts a ``Manual`` row with objects inside an explicit transaction and does the same. The
test kills it with SIGKILL while it sleeps: between the object writes and the commit.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import dj_jupyter as dj

SOURCE = """
k: int32
"""

RESULT = """
-> Source
---
arr: <npy@>
blob: <blob@>
folder: <object@>
table = null: <zarr@>
"""

MANUAL = """
k: int32
---
arr: <npy@>
blob: <blob@>
folder: <object@>
"""

READY: list[str] = []  # the file a make creates before it sleeps (set by main)


def objects_for(k: int) -> dict:
    """Every kind of object for key ``k`` (a zarr store when zarr is installed)."""
    row = {"arr": np.full((64, 64), k, dtype="float64"), "blob": {"k": k, "v": np.arange(k)},
           "folder": (".bin", bytes([k]) * 100)}
    try:
        import xarray as xr
        import zarr  # noqa: F401
    except ImportError:
        return row
    row["table"] = xr.Dataset({"v": ("x", np.arange(10) * k)}, attrs={"k": k})
    return row


def declare(schema: dj.Schema) -> tuple[type, type, type]:
    """The tables, bound to ``schema`` (the test and the child declare the same ones)."""

    @schema
    class Source(dj.Manual):
        definition = SOURCE

    @schema
    class Result(dj.Computed):
        definition = RESULT

        def make(self, key):
            self.insert1({**key, **objects_for(key["k"])})
            if READY:
                hold()

    @schema
    class Entry(dj.Manual):
        definition = MANUAL

    return Source, Result, Entry


def hold() -> None:
    """Say the objects are written (the transaction is still open), then wait to be killed."""
    with open(READY[0] + ".tmp", "w") as out:
        out.write(str(os.getpid()))
    os.rename(READY[0] + ".tmp", READY[0])
    time.sleep(120)


def main(url: str, schema_name: str, mode: str, ready: str) -> None:
    connection = dj.Connection(url)
    _source, result, entry = declare(dj.Schema(schema_name, connection=connection))
    READY.append(ready)
    if mode == "populate":
        result.populate({"k": 3})
    else:
        folder = {"folder": (".bin", b"\x07" * 100)}
        with connection.transaction:
            entry.insert1({"k": 3, "arr": np.ones(10), "blob": [3], **folder})
            hold()
    raise SystemExit("the child was not killed")


if __name__ == "__main__":
    main(*sys.argv[1:5])
