"""Makes of several workers compute at once, also on SQLite, and stay all or nothing per key.

On SQLite a make's writes are staged (``Connection.staged_transaction``): make runs in a
lock-free snapshot and only its inserts, with the job record, take the one write lock at
the end. Workers here are threads with connections of their own (``own_connections``), so
one test process can watch how many makes are inside ``make`` at the same moment.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.backends.own_connections import own_connections
from dj_jupyter.errors import DuplicateError, IntegrityError

_schemas = itertools.count()


class Overlap:
    """How many makes are inside make at once; each waits (bounded) for a partner."""

    def __init__(self, wanted: int):
        self.wanted = wanted
        self.active = 0
        self.most = 0
        self.condition = threading.Condition()

    def __enter__(self) -> None:
        with self.condition:
            self.active += 1
            self.most = max(self.most, self.active)
            self.condition.notify_all()
            # a bound, not a timed assert: a serialised make would wait here in vain
            self.condition.wait_for(lambda: self.active >= self.wanted, timeout=5)

    def __exit__(self, *exc) -> None:
        with self.condition:
            self.active -= 1
            self.condition.notify_all()


def declare(schema: dj.Schema) -> type:
    @schema
    class Src(dj.Manual):
        definition = """
        n: int32
        ---
        v: int32
        """

    @schema
    class Made(dj.Manual):
        definition = """
        # one row per committed make
        n: int32
        """

    @schema
    class Sq(dj.Computed):
        definition = """
        -> Src
        ---
        sq: int64
        """
        fail: dict = {}  # n -> "raise" (after inserting) or "duplicate" (fails at commit)
        overlap: Overlap | None = None

        class Digit(dj.Part):
            definition = """
            -> master
            pos: int16
            ---
            d: int16
            """

        def make(self, key):
            v = (Src & key).fetch1("v")  # a read inside the make's transaction
            if self.overlap is not None:
                with self.overlap:
                    pass
            self.insert1({**key, "sq": v * v})
            digits = [{**key, "pos": i, "d": int(c)} for i, c in enumerate(str(v * v))]
            Made.insert1(key)
            how = self.fail.get(key["n"])
            if how == "raise":
                raise ValueError(f"make refuses {key['n']}")
            if how == "duplicate":
                digits.append(digits[0])
            self.Digit.insert(digits)

    return type("Pipeline", (), {"Src": Src, "Made": Made, "Sq": Sq})


def populate_in_threads(table: type, workers: int, backend: str) -> list:
    """``workers`` threads, each with its own connection, share the job queue (with the fast
    paths on: PostgreSQL's pipeline once waited for a result holding the interpreter lock, so
    a thread waiting for another thread's row lock stopped them both)."""
    table.jobs.refresh()  # the queue exists before the workers start (as populate_in_workers)
    return _threads(table, workers)


def _threads(table: type, workers: int) -> list:
    results: list = []
    errors: list = []

    def work() -> None:
        try:
            with own_connections():
                results.append(table.populate(reserve_jobs=True, suppress_errors=True))
        except BaseException as error:  # noqa: BLE001 - re-raised by the test thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_makes_overlap(schema: dj.Schema, backend: str) -> None:
    p = declare(schema)
    p.Src.insert([{"n": n, "v": n + 3} for n in range(6)])
    p.Sq.overlap = overlap = Overlap(wanted=2)
    populate_in_threads(p.Sq, 2, backend)
    assert overlap.most == 2, "the two workers' makes never ran at the same time"
    assert len(p.Sq) == 6 and len(p.Made) == 6


def test_staged_make_sees_a_snapshot_and_commits_all(schema: dj.Schema) -> None:
    p = declare(schema)
    p.Src.insert([{"n": 1, "v": 12}])
    p.Sq.populate()
    assert p.Sq.fetch1("sq") == 144
    assert sorted(d["d"] for d in p.Sq.Digit.to_dicts()) == [1, 4, 4]


def test_duplicate_found_at_commit_leaves_nothing(schema: dj.Schema) -> None:
    p = declare(schema)
    p.Src.insert([{"n": 1, "v": 12}, {"n": 2, "v": 5}])
    p.Sq.fail = {1: "duplicate"}
    with pytest.raises(DuplicateError, match="skip_duplicates"):
        p.Sq.populate()
    assert len(p.Sq) == len(p.Sq.Digit) == len(p.Made) == 0
    assert p.Sq.populate(suppress_errors=True)["success_count"] == 1
    assert [r["n"] for r in p.Made.to_dicts()] == [2]


def test_missing_parent_found_at_commit(schema: dj.Schema) -> None:
    """A staged insert whose parent is gone fails at commit with the insert's own error."""
    p = declare(schema)
    connection = schema.connection
    with pytest.raises(IntegrityError, match="Insert the parent rows first"):
        with connection.staged_transaction():
            p.Sq.insert1({"n": 7, "sq": 49}, allow_direct_insert=True)
    assert len(p.Sq) == 0


def test_staging_off_by_config(schema: dj.Schema) -> None:
    p = declare(schema)
    p.Src.insert([{"n": n, "v": n} for n in range(3)])
    with dj.config.override({"populate.stage_writes": False}):
        assert p.Sq.populate()["success_count"] == 3
    assert len(p.Sq) == 3


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(st.integers(0, 10_000), min_size=1, max_size=10),
       failures=st.dictionaries(st.integers(0, 9), st.sampled_from(["raise", "duplicate"]),
                                max_size=4),
       workers=st.integers(1, 4))
def test_many_workers_make_the_rows_of_one(conn: dj.Connection, schema_name: str, backend: str,
                                           values: list[int], failures: dict,
                                           workers: int) -> None:
    """N workers leave exactly the rows one worker leaves; a failed key leaves nothing."""
    rows = [{"n": n, "v": v} for n, v in enumerate(values)]
    made = {}
    for label, count in (("one", 1), ("many", workers)):
        schema = dj.Schema(f"{schema_name}_{label}{next(_schemas)}", connection=conn)
        p = declare(schema)
        p.Sq.fail = failures
        p.Src.insert(rows)
        results = populate_in_threads(p.Sq, count, backend)
        failed = {n for n in failures if n < len(rows)}
        assert sum(r["success_count"] for r in results) == len(rows) - len(failed)
        assert sorted(k["n"] for r in results for k, _ in r["error_list"]) == sorted(failed)
        made[label] = (sorted((r["n"], r["sq"]) for r in p.Sq.to_dicts()),
                       sorted((d["n"], d["pos"], d["d"]) for d in p.Sq.Digit.to_dicts()),
                       sorted(r["n"] for r in p.Made.to_dicts()))
        assert made[label][2] == sorted(set(range(len(rows))) - failed)  # once per key
        schema.drop(prompt=False)
    assert made["many"] == made["one"]


def test_staged_writes_reach_others_only_at_commit(schema: dj.Schema, db_url: str,
                                                   backend: str) -> None:
    p = declare(schema)
    other = dj.Connection(db_url)
    try:
        seen_by_other = dj.FreeTable(other, p.Src().full_table_name)
        with schema.connection.staged_transaction():
            p.Src.insert1({"n": 1, "v": 1})
            assert len(seen_by_other) == 0  # not yet: staged (or uncommitted)
            other_table = dj.FreeTable(other, p.Src().full_table_name)
            first = len(p.Src)
            other_table.insert1({"n": 2, "v": 2})  # another session commits meanwhile
            second = len(p.Src)
        assert len(seen_by_other) == 2
        # SQLite: the staged make's reads see one snapshot, its own writes not yet sent;
        # elsewhere a plain transaction: its own row, and the other's under PostgreSQL's
        # READ COMMITTED, not under InnoDB's REPEATABLE READ
        assert (first, second) == {"sqlite": (0, 0), "postgresql": (1, 2),
                                   "mysql": (1, 1)}[backend]
    finally:
        other.close()
