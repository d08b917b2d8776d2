"""Property: under any sequence of steps of two writing sessions and a collecting one, no
row — committed, or in flight in the open transaction — points at a missing object, and once
everything has settled gc leaves exactly the objects rows use (DESIGN §5, invariant 2).

Session A opens transactions that stay open across steps; session B writes on its own (ids
apart from A's, so that neither waits for the other's row locks); G runs ``schema.gc()``.
Contents come from a small pool so that rows of both sessions share content-addressed
objects; a step "ages" every object past the grace period, so that gc has something to take.
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, TransactionError
from dj_jupyter.objects import stores as storage
from dj_jupyter.tables.gc import referenced_objects

from .test_object_crash import _missing_references
from .test_object_lifecycle import BAD

POOL = [b"alpha", b"beta", b"gamma"]
GRACE = 600.0

steps = st.lists(st.one_of(
    st.tuples(st.just("a_begin")),
    st.tuples(st.just("a_commit")),
    st.tuples(st.just("a_rollback")),
    st.tuples(st.just("a_insert"), st.integers(0, 4), st.sampled_from(POOL)),
    st.tuples(st.just("a_insert_failing"), st.integers(0, 4), st.sampled_from(POOL)),
    st.tuples(st.just("b_insert"), st.integers(0, 4), st.sampled_from(POOL)),
    st.tuples(st.just("b_insert_failing"), st.integers(0, 4), st.sampled_from(POOL)),
    st.tuples(st.just("b_delete"), st.integers(0, 4)),
    st.tuples(st.just("age"),),
    st.tuples(st.just("gc"),),
), max_size=14)


def _declare(schema: dj.Schema) -> type:
    @schema
    class Item(dj.Manual):
        definition = """
        id: int32
        ---
        name = "": varchar(16)
        raw: <hash@>
        arr: <npy@>
        """

    return Item


class World:
    """The three sessions over one schema and one local store."""

    def __init__(self, schema: dj.Schema, db_url: str, folder):
        self.folder = folder
        self.a_conn = schema.connection
        self.A = _declare(schema)
        self.b_conn = dj.Connection(db_url)
        self.B = _declare(dj.Schema(schema.database, connection=self.b_conn))
        self.g_conn = dj.Connection(db_url)
        self.G = dj.Schema(schema.database, connection=self.g_conn)
        self.schema = schema
        self.sqlite = self.a_conn.backend == "sqlite"

    def close(self) -> None:
        self.b_conn.close()
        self.g_conn.close()

    def reset(self) -> None:
        if self.a_conn.in_transaction:
            self.a_conn.cancel_transaction()
        self.A.delete_quick()
        shutil.rmtree(self.folder, ignore_errors=True)

    def rows(self, key: int, content: bytes, count: int, failing: bool) -> list[dict]:
        rows = [{"id": key + n, "raw": content, "arr": np.full(2, key + n)}
                for n in range(count)]
        if failing:
            rows[-1]["name"] = BAD
        return rows

    def step(self, name: str, *args) -> None:
        a_open = self.a_conn.in_transaction
        if name == "a_begin" and not a_open:
            self.a_conn.start_transaction()
        elif name == "a_commit" and a_open:
            try:
                self.a_conn.commit_transaction()
            except TransactionError:
                pass  # a doomed transaction rolls back
        elif name == "a_rollback" and a_open:
            self.a_conn.cancel_transaction()
        elif name in ("a_insert", "a_insert_failing"):
            key, content = args
            failing = name.endswith("failing")
            failed = self._attempt(self.A, self.rows(100 + 10 * key, content,
                                                     3 if failing else 1, failing))
            if failed and a_open and self.a_conn.backend == "postgresql":
                # PostgreSQL aborts the transaction at a server error (which may come with
                # the bad row's, in one pipeline): only a rollback is left
                self.a_conn.cancel_transaction()
        elif name in ("b_insert", "b_insert_failing") and not (self.sqlite and a_open):
            key, content = args  # (on SQLite, B's write would wait for A's write lock)
            failing = name.endswith("failing")
            self._attempt(self.B, self.rows(500 + 10 * key, content, 3 if failing else 1,
                                            failing))
        elif name == "b_delete" and not (self.sqlite and a_open):
            (self.B & f"id >= {500 + 10 * args[0]} and id < {510 + 10 * args[0]}").delete()
        elif name == "age" and not a_open:  # a transaction open longer than the grace
            # period is outside the contract: gc may take its objects (its commit then fails)
            past = time.time() - 2 * GRACE
            for path in self.folder.rglob("*"):
                if path.is_file():
                    os.utime(path, (past, past))
        elif name == "gc":
            self.G.gc(dry_run=False, grace_seconds=GRACE)

    @staticmethod
    def _attempt(table, rows: list[dict]) -> bool:
        """Insert; whether it failed (nothing of it is kept either way)."""
        try:
            table.insert(rows)
        except (DataJointError, UnicodeError):  # a duplicate key, or the bad row (until the
            return True  # value checks refuse it as a DataJointError)
        return False

    def missing_references(self) -> list[tuple[str, str]]:
        """Objects missing for a committed row (read by G, outside any transaction) or for a
        row of A's open transaction (in flight). A's view is limited to A's own rows: under
        MySQL's repeatable read, A's snapshot may still show a row B has deleted since."""
        missing = _missing_references(self.G)
        if self.a_conn.in_transaction:
            missing += [(store, path) for store, path in referenced_objects(self.A & "id < 500")
                        if not storage.get_store(store).exists(path)]
        return missing

    def objects(self) -> set[str]:
        return {p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*")
                if p.is_file()}


@pytest.fixture
def world(schema, db_url, tmp_path):
    folder = tmp_path / "objects"
    spec = {"protocol": "file", "location": str(folder)}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        made = World(schema, db_url, folder)
        yield made
        made.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=steps)
# B deletes a row A's repeatable-read snapshot (MySQL) still shows: not a committed reference
@example(program=[("b_insert", 0, b"alpha"), ("a_begin",), ("b_delete", 0)])
def test_no_row_ever_points_at_a_missing_object(world, program):
    world.reset()
    for step in program:
        world.step(*step)
        assert world.missing_references() == [], step
    world.step("a_commit")
    assert _missing_references(world.schema) == []
    world.step("age")
    world.step("gc")
    used = {path for _, path in world.schema.gc(dry_run=True, grace_seconds=0)["unreferenced"]}
    assert used == set()  # gc left nothing unreferenced ...
    rows = len(world.A())
    assert len([p for p in world.objects() if p.startswith(storage.SCHEMA_PREFIX)]) == rows
