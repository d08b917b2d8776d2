"""A process killed (SIGKILL) between its object writes and its commit leaves no broken row,
and ``schema.gc()`` then removes exactly the objects nobody references (DESIGN §5, 1 and 2).

The child (tests/backend/object_crash_child.py) writes objects of every kind for key 3 —
through a ``make`` inside ``populate``, or a plain insert inside a transaction — signals that
it is ready by creating a file, and sleeps with its transaction open until it is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.objects import stores as storage
from dj_jupyter.tables.gc import referenced_objects

from . import test_storage as _shared
from .object_crash_child import declare

objects = _shared.objects
s3_endpoint, store = _shared.s3_endpoint, _shared.store  # the fixtures of test_storage.py
REPO = Path(__file__).resolve().parents[2]


def _kill_when_ready(db_url: str, schema: dj.Schema, mode: str, folder: Path) -> None:
    """Run the child; SIGKILL it once it has written its objects (its commit never comes)."""
    ready = folder / f"ready-{mode}"
    env = {**os.environ, "DJ_STORES": json.dumps(dj.config["stores"]),
           "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get(
               "PYTHONPATH")])])}
    with open(folder / "child.err", "w") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.backend.object_crash_child", db_url,
             schema.database, mode, str(ready)], cwd=REPO, env=env, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the child never got ready (exit {child.returncode}):\n"
                            + (folder / "child.err").read_text()[-3000:])
            time.sleep(0.02)
        assert int(ready.read_text()) == child.pid
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL


def _missing_references(schema: dj.Schema) -> list[tuple[str, str]]:
    """(store, path) of every object a committed row refers to that is not in its store."""
    missing = []
    for name in schema.list_tables():
        for store_name, path in referenced_objects(schema.get_table(name)):
            store = storage.get_store(store_name)
            found = any(True for _ in store.list(path)) if path.endswith("/") else \
                store.exists(path)
            if not found:
                missing.append((store_name, path))
    return missing


@pytest.mark.parametrize("mode", ["populate", "insert"])
def test_kill_between_object_write_and_commit(mode, store, schema, backend, db_url, tmp_path):
    if store.protocol == "s3" and backend != "sqlite":
        pytest.skip("S3 once (on SQLite) is enough: the store does not depend on the database")
    Source, Result, Entry = declare(schema)
    Source.insert([{"k": k} for k in (1, 2, 3)])
    Result.populate({"k": 1})
    Result.populate({"k": 2})
    Entry.insert1({"k": 1, "arr": np.zeros(4), "blob": [1], "folder": (".bin", b"x")})
    committed = objects(store)

    _kill_when_ready(db_url, schema, mode, tmp_path)

    orphans = objects(store) - committed
    assert len(orphans) >= 3  # the child died after writing its objects ...
    assert sorted(Result.keys(), key=lambda k: k["k"]) == [{"k": 1}, {"k": 2}]
    assert Entry.keys() == [{"k": 1}]  # ... and before committing its row
    assert _missing_references(schema) == []

    with dj.config.override({"stores.gc_grace_seconds": 3600}):
        young = schema.gc(dry_run=False)  # the grace period protects inserts in flight
    assert young["removed"] == [] and young["too_young"] == len(orphans)
    with dj.config.override({"stores.gc_grace_seconds": 0}):
        report = schema.gc(dry_run=False)
    assert {path for _, path in report["removed"]} == orphans
    assert objects(store) == committed and _missing_references(schema) == []
    assert (Result & {"k": 2}).fetch1("blob")["k"] == 2
    np.testing.assert_array_equal((Result & {"k": 1}).fetch1("arr").load(), np.ones((64, 64)))

    Result.populate()  # the interrupted key is simply made again
    assert len(Result) == 3 and _missing_references(schema) == []
    assert schema.gc(dry_run=True, grace_seconds=0)["unreferenced"] == []
