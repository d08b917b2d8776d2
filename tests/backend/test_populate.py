"""populate and the job queue: make per key, errors, key_source, reservation, orphans, events."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.catalog import events
from dj_jupyter.errors import DataJointError, PermissionDeniedError, TransactionError
from dj_jupyter.populate.provenance import code_version


def declare(schema: dj.Schema, calls: list | None = None) -> dict:
    """Src (manual) -> Sq (computed, with a Part); ``Sq.fail`` maps n to an exception to raise
    after the master row is inserted; ``calls`` records every make in order."""
    calls = [] if calls is None else calls

    @schema
    class Src(dj.Manual):
        definition = """
        n: int32
        ---
        v = 1: int32
        """

    @schema
    class Sq(dj.Computed):
        definition = """
        -> Src
        ---
        sq: int64
        """
        fail: dict = {}
        log = calls

        class Digit(dj.Part):
            definition = """
            -> master
            pos: int16
            ---
            d: int16
            """

        def make(self, key):
            self.log.append(key["n"])
            assert self.connection.in_transaction
            self.insert1({**key, "sq": key["n"] ** 2})
            if key["n"] in self.fail:
                raise self.fail[key["n"]]
            self.Digit.insert([{**key, "pos": i, "d": int(c)}
                               for i, c in enumerate(str(key["n"] ** 2))])

    return {"Src": Src, "Sq": Sq}


@pytest.fixture
def p(schema):
    tables = declare(schema)
    tables["Src"].insert([{"n": n} for n in range(6)])
    return type("Pipeline", (), tables)


@pytest.fixture
def conn2(db_url):
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


@pytest.fixture
def p2(conn2, schema_name, p):
    """The same tables, bound to a second connection."""
    return type("Pipeline2", (), declare(dj.Schema(schema_name, connection=conn2)))


def digits_total(ns) -> int:
    return sum(len(str(n * n)) for n in ns)


def job(p, n) -> dict:
    rows = (p.Sq.jobs & {"n": n}).to_dicts()
    assert len(rows) == 1
    return rows[0]


def set_job(conn, jobs, n, **values) -> None:
    """Write job fields by hand (as another worker or host would have)."""
    table = jobs.sa_table
    conn.execute(sa.update(table).where(table.c.n == n).values(**values))


# --- make, transactions, errors ------------------------------------------------------------


def test_make_once_per_missing_key_with_parts(p):
    assert p.Sq.populate() == {"success_count": 6, "error_list": []}
    assert sorted(p.Sq.log) == list(range(6))
    assert p.Sq.to_arrays("sq", order_by="n").tolist() == [n * n for n in range(6)]
    assert len(p.Sq.Digit) == digits_total(range(6))
    p.Src.insert1({"n": 7})
    assert p.Sq.populate() == {"success_count": 1, "error_list": []}
    assert p.Sq.log[6:] == [7]
    assert p.Sq.populate()["success_count"] == 0 and len(p.Sq.log) == 7


def test_error_rolls_back_the_key_and_records_traceback(p):
    p.Sq.fail = {3: ValueError("unlucky 3")}
    with pytest.raises(ValueError, match="unlucky 3"):
        p.Sq.populate()
    assert p.Sq.keys(order_by="n") == [{"n": 0}, {"n": 1}, {"n": 2}]  # master of 3 rolled back
    assert not p.Sq.Digit & {"n": 3}
    assert len(p.Sq.Digit) == digits_total(range(3))
    error = p.Sq.jobs.errors.to_dicts()
    assert [e["n"] for e in error] == [3] and error[0]["status"] == "error"
    assert error[0]["error_message"] == "ValueError: unlucky 3"
    stack = error[0]["error_stack"]
    assert stack.startswith("Traceback") and "raise self.fail" in stack and "unlucky 3" in stack

    result = p.Sq.populate(suppress_errors=True)
    assert result == {"success_count": 2, "error_list": [({"n": 3}, "ValueError: unlucky 3")]}
    assert len(p.Sq) == 5 and not p.Sq & {"n": 3}

    result = p.Sq.populate(suppress_errors=True, return_exception_objects=True)
    assert result["success_count"] == 0
    [(key, exc)] = result["error_list"]
    assert key == {"n": 3} and isinstance(exc, ValueError) and str(exc) == "unlucky 3"


def test_direct_insert_into_computed_is_refused(p):
    with pytest.raises(PermissionDeniedError):
        p.Sq.insert1({"n": 0, "sq": 0})
    assert len(p.Sq) == 0
    p.Sq.insert1({"n": 0, "sq": 0}, allow_direct_insert=True)
    p.Sq.Digit.insert1({"n": 0, "pos": 0, "d": 0}, allow_direct_insert=True)
    assert len(p.Sq) == len(p.Sq.Digit) == 1
    assert p.Sq.populate()["success_count"] == 5  # inside make: self and part without the flag
    assert len(p.Sq) == 6 and len(p.Sq.Digit) == 1 + digits_total(range(1, 6))


# --- key_source, restrictions, progress ------------------------------------------------------


def _make_elsewhere(p, n: int, sq: int = -1):
    """An observer that, when key 0 starts, writes key ``n``'s row as another worker would."""
    def observe(event):
        if event.kind == "key_started" and event.key == {"n": 0}:
            p.Sq.insert1({"n": n, "sq": sq}, allow_direct_insert=True)

    return observe


def test_key_made_elsewhere_after_the_check_is_skipped_not_failed(p):
    # Key 1 was checked (not done) with its batch; its row appears before its turn, so
    # make's insert meets a duplicate: populate finds the key done and goes on.
    result = p.Sq.populate(observers=[_make_elsewhere(p, 1)])
    assert result == {"success_count": 5, "error_list": []}
    assert (p.Sq & {"n": 1}).fetch1("sq") == -1  # the other worker's row stands
    assert not p.Sq.Digit & {"n": 1}  # this worker's part rows were rolled back
    assert sorted(p.Sq.log) == list(range(6))
    assert not p.Sq.jobs  # direct populate writes no record for a key that did not fail


def test_stale_done_checks_are_repeated(p, monkeypatch):
    # With checks trusted for no time at all (a slow make), every key is checked right
    # before it is made: the key made elsewhere is skipped without calling make.
    from dj_jupyter.populate import autopopulate as populate

    monkeypatch.setattr(populate, "CHECK_FRESHNESS", 0.0)
    result = p.Sq.populate(observers=[_make_elsewhere(p, 2)])
    assert result == {"success_count": 5, "error_list": []}
    assert sorted(p.Sq.log) == [0, 1, 3, 4, 5]


def test_done_checks_span_several_batches(schema, monkeypatch):
    from dj_jupyter.populate import autopopulate as populate

    monkeypatch.setattr(populate, "CHECK_BATCH", 4)
    tables = declare(schema)
    Src, Sq = tables["Src"], tables["Sq"]
    Src.insert([{"n": n} for n in range(11)])
    result = Sq.populate(observers=[_make_elsewhere(type("P", (), tables), 9)])
    assert result == {"success_count": 10, "error_list": []}
    assert sorted(Sq.log) == [n for n in range(11) if n != 9]  # 9 was in a later batch


def test_done_checks_compare_keys_of_several_attributes(schema, monkeypatch):
    # The check compares (a, b) row values: a key made elsewhere is found among its batch,
    # and keys sharing one attribute with it are not mistaken for it.
    from dj_jupyter.populate import autopopulate as populate

    monkeypatch.setattr(populate, "CHECK_BATCH", 3)
    monkeypatch.setattr(populate, "CHECK_FRESHNESS", 0.0)
    made = []

    @schema
    class Pair(dj.Manual):
        definition = """
        a: int32
        b: varchar(8)
        """

    @schema
    class Joined(dj.Computed):
        definition = """
        -> Pair
        ---
        label: varchar(20)
        """

        def make(self, key):
            made.append((key["a"], key["b"]))
            self.insert1({**key, "label": f"{key['a']}{key['b']}"})

    Pair.insert([{"a": a, "b": b} for a in range(3) for b in ("x", "y")])

    def make_elsewhere(event):  # two keys populate has not reached yet
        if event.kind == "key_started" and event.key == {"a": 0, "b": "x"}:
            Joined.insert([{"a": 1, "b": "y", "label": "elsewhere"},
                           {"a": 2, "b": "x", "label": "elsewhere"}], allow_direct_insert=True)

    result = Joined.populate(observers=[make_elsewhere])
    assert result == {"success_count": 4, "error_list": []}
    assert sorted(made) == [(0, "x"), (0, "y"), (1, "x"), (2, "y")]  # (2, y) matches neither
    assert (Joined & "label = 'elsewhere'").keys() == [{"a": 1, "b": "y"}, {"a": 2, "b": "x"}]


def test_reserved_job_whose_row_exists_is_closed_not_failed(p):
    p.Sq.jobs.refresh()
    p.Sq.insert1({"n": 4, "sq": -1}, allow_direct_insert=True)  # not through populate
    result = p.Sq.populate(reserve_jobs=True)
    assert result == {"success_count": 5, "error_list": []}
    assert (p.Sq & {"n": 4}).fetch1("sq") == -1
    assert not p.Sq.jobs  # every finished job's record is removed (no jobs.keep_completed)


def test_table_without_make_is_refused_before_any_work(schema):
    @schema
    class Base(dj.Manual):
        definition = """
        b: int32
        """

    @schema
    class NoMake(dj.Computed):
        definition = """
        -> Base
        """

    Base.insert1({"b": 1})
    with pytest.raises(DataJointError, match=r"no make\(self, key\) method"):
        NoMake.populate()
    assert len(NoMake) == 0


def test_key_source_joins_parents_and_follows_renames(schema):
    @schema
    class A(dj.Manual):
        definition = """
        a: int32
        """

    @schema
    class B(dj.Manual):
        definition = """
        b: varchar(8)
        """

    @schema
    class AB(dj.Computed):
        definition = """
        -> A
        -> B
        ---
        label: varchar(16)
        """

        def make(self, key):
            self.insert1({**key, "label": f"{key['a']}{key['b']}"})

    @schema
    class Renamed(dj.Computed):
        definition = """
        -> A.proj(x='a')
        ---
        double: int32
        """

        def make(self, key):
            self.insert1({**key, "double": 2 * key["x"]})

    A.insert([{"a": 1}, {"a": 2}, {"a": 3}])
    B.insert([{"b": "u"}, {"b": "v"}])
    assert len(AB.key_source) == 6
    assert sorted(AB.key_source.heading.names) == ["a", "b"]
    assert AB.populate()["success_count"] == 6
    assert sorted(AB.to_arrays("label").tolist()) == ["1u", "1v", "2u", "2v", "3u", "3v"]
    assert Renamed.key_source.heading.names == ["x"]
    assert Renamed.progress() == (3, 3)
    Renamed.populate()
    assert Renamed.to_dicts(order_by="x") == [{"x": x, "double": 2 * x} for x in (1, 2, 3)]


def test_overridden_key_source_restricts_the_work(schema):
    tables = declare(schema)
    Src = tables["Src"]

    @schema
    class Even(dj.Computed):
        definition = """
        -> Src
        ---
        half: int32
        """

        @property
        def key_source(self):
            return Src & "n % 2 = 0"

        def make(self, key):
            self.insert1({**key, "half": key["n"] // 2})

    Src.insert([{"n": n} for n in range(7)])
    assert Even.progress() == (4, 4)
    assert Even.populate()["success_count"] == 4
    assert Even.to_arrays("n", order_by="n").tolist() == [0, 2, 4, 6]


def test_populate_restrictions_and_max_calls(p):
    assert p.Sq.populate({"n": 4})["success_count"] == 1
    assert p.Sq.populate("n < 2")["success_count"] == 2
    assert p.Sq.populate(p.Src & "n >= 5")["success_count"] == 1
    assert sorted(p.Sq.log) == [0, 1, 4, 5]
    assert p.Sq.progress() == (2, 6)
    assert p.Sq.progress("n < 3") == (1, 3)
    assert p.Sq.populate(max_calls=1)["success_count"] == 1
    assert p.Sq.progress() == (1, 6)
    assert p.Sq.populate()["success_count"] == 1 and p.Sq.progress() == (0, 6)


def test_progress_sees_other_connections(p, p2):
    assert p.Sq.progress() == (6, 6)
    p2.Src.insert([{"n": 10}, {"n": 11}])
    assert p.Sq.progress() == (8, 8)
    p2.Sq.insert1({"n": 10, "sq": 100}, allow_direct_insert=True)
    assert p.Sq.progress() == (7, 8)
    p2.Sq.populate({"n": 11})
    assert p.Sq.progress() == (6, 8)
    assert p.Sq.populate()["success_count"] == 6
    assert p2.Sq.progress() == (0, 8)


def test_populate_inside_transaction_refused(p, conn):
    with conn.transaction:
        with pytest.raises(TransactionError):
            p.Sq.populate()
    assert len(p.Sq) == 0


def test_computed_without_parents_names_the_fix(schema):
    with dj.config.override({"jobs.allow_new_pk_fields_in_computed_tables": True}):
        @schema
        class Lonely(dj.Computed):
            definition = """
            k: int32
            """

            def make(self, key):
                self.insert1(key)

    with pytest.raises(DataJointError, match="key_source") as info:
        Lonely.populate()
    assert "-> Parent" in str(info.value)


# --- the job queue ---------------------------------------------------------------------------


def test_refresh_adds_removes_and_repends(p):
    with dj.config.override({"jobs.keep_completed": True}):
        jobs = p.Sq.jobs
        assert jobs.refresh()["added"] == 6
        assert jobs.progress() == {"pending": 6, "reserved": 0, "success": 0, "error": 0,
                                   "ignore": 0, "total": 6}
        p.Src.insert([{"n": 6}, {"n": 7}])
        assert jobs.refresh()["added"] == 2
        (p.Src & "n >= 6").delete()
        # pending jobs of vanished keys wait for jobs.stale_timeout (DataJoint 2.x)...
        counts = jobs.refresh()
        assert counts["removed"] == 0 and counts["added"] == 0
        assert p.Sq.populate({"n": 6}, reserve_jobs=True)["success_count"] == 0  # ...unmade
        for key in (jobs & "n >= 6").keys():
            jobs.update1({**key, "created_time": datetime.datetime(2000, 1, 1)})
        counts = jobs.refresh()
        assert counts["removed"] == 2 and counts["added"] == 0
        assert sorted(jobs.pending.to_arrays("n").tolist()) == list(range(6))

        assert p.Sq.populate(reserve_jobs=True)["success_count"] == 6
        assert jobs.progress()["success"] == 6 and jobs.progress()["pending"] == 0
        (p.Sq & {"n": 2}).delete()
        assert jobs.refresh()["re_pended"] == 1
        assert job(p, 2)["status"] == "pending"
        assert jobs.progress()["success"] == 5
        assert p.Sq.populate(reserve_jobs=True)["success_count"] == 1
        assert p.Sq.log.count(2) == 2 and len(p.Sq) == 6
        (p.Src & {"n": 5}).delete()  # the computed row goes too; so does its job
        counts = jobs.refresh()
        assert counts["removed"] == 1 and not jobs & {"n": 5}


def test_priorities_order_the_work(p):
    with dj.config.override({"jobs.keep_completed": True}):
        jobs = p.Sq.jobs
        jobs.refresh("n < 2", priority=7)
        jobs.refresh("n >= 4", priority=1)
        jobs.refresh()  # default priority 5 for the rest
        assert dict(zip(*jobs.to_arrays("n", "priority", order_by="n"))) == \
            {0: 7, 1: 7, 2: 5, 3: 5, 4: 1, 5: 1}
        for _ in range(6):
            made = p.Sq.populate(reserve_jobs=True, max_calls=1, refresh=False)
            assert made["success_count"] == 1
            time.sleep(0.003)  # distinct completed_time (millisecond resolution)
        assert p.Sq.log == [4, 5, 2, 3, 0, 1]
        completed = jobs.completed.to_arrays("n", order_by=["completed_time", "n"]).tolist()
        assert completed == [4, 5, 2, 3, 0, 1]


def test_populate_priority_takes_only_urgent_jobs(p):
    p.Sq.jobs.refresh("n < 2", priority=7)
    p.Sq.jobs.refresh("n >= 2", priority=3)
    assert p.Sq.populate(reserve_jobs=True, priority=5, refresh=False)["success_count"] == 4
    assert sorted(p.Sq.log) == [2, 3, 4, 5]
    assert p.Sq.populate(reserve_jobs=True, priority=6)["success_count"] == 0
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 2


def test_ignored_job_is_skipped(p):
    p.Sq.jobs.ignore({"n": 2})
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 5
    assert 2 not in p.Sq.log and not p.Sq & {"n": 2}
    assert p.Sq.jobs.ignored.to_arrays("n").tolist() == [2]
    assert p.Sq.progress() == (1, 6)
    (p.Sq.jobs & {"n": 2}).delete()
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 1


def test_error_jobs_wait_until_their_row_is_deleted(p):
    p.Sq.fail = {1: ValueError("one"), 3: RuntimeError("three")}
    result = p.Sq.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 4
    assert sorted(k["n"] for k, _ in result["error_list"]) == [1, 3]
    assert sorted(p.Sq.jobs.errors.to_arrays("n").tolist()) == [1, 3]
    assert p.Sq.populate(reserve_jobs=True, suppress_errors=True) == \
        {"success_count": 0, "error_list": []}
    assert sorted(p.Sq.log) == list(range(6))

    p.Sq.fail = {}
    assert (p.Sq.jobs & {"n": 1}).delete() == 1
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 1
    assert p.Sq.jobs.errors.to_arrays("n").tolist() == [3]
    assert p.Sq.jobs.errors.delete() == 1
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 1
    assert len(p.Sq) == 6 and not p.Sq.jobs  # made: their records are removed


def test_reservation_is_atomic_and_release_repends(p, p2):
    p.Sq.jobs.refresh()
    key = {"n": 0}
    assert p.Sq.jobs.reserve(key) is True
    assert p2.Sq.jobs.reserve(key) is False
    assert p.Sq.jobs.reserve(key) is False
    row = job(p, 0)
    assert row["status"] == "reserved" and row["pid"] == os.getpid()
    assert row["host"] == socket.gethostname()
    p.Sq.jobs.release(key)
    assert job(p, 0)["status"] == "pending"
    assert p2.Sq.jobs.reserve(key) is True
    assert p.Sq.jobs.reserve(key) is False


# --- orphans and heartbeats ------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_orphan_of_dead_local_worker_is_requeued(p, conn):
    jobs = p.Sq.jobs
    jobs.refresh()
    assert jobs.reserve({"n": 0}) and jobs.reserve({"n": 1})
    # a worker of another process (no SQLite lease of ours) that has ended
    set_job(conn, jobs, 0, pid=dead_pid(), connection_id=0)
    assert jobs.requeue_orphans(3600) == 1  # the heartbeat is fresh, but the process is gone
    assert job(p, 0)["status"] == "pending" and job(p, 1)["status"] == "reserved"
    set_job(conn, jobs, 1, pid=dead_pid(), connection_id=0)
    assert jobs.refresh()["orphaned"] == 1
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 6


def test_job_of_live_local_worker_is_kept_while_it_shows_life(p, conn, backend):
    """A live worker keeps its job while its heartbeat is fresh; on SQLite, whose heartbeats
    stall during a make, while its lease is held however old the heartbeat. A stale heartbeat
    on a server loses the job whatever the pid says (see test_worker_liveness.py)."""
    jobs = p.Sq.jobs
    jobs.refresh()
    assert jobs.reserve({"n": 0})  # by this process, which is alive
    assert jobs.requeue_orphans(60) == 0
    if backend != "sqlite":
        return
    set_job(conn, jobs, 0, heartbeat=conn.dialect.seconds_from_now(-7200))
    assert jobs.requeue_orphans(0) == 0
    assert jobs.refresh(heartbeat_timeout=0)["orphaned"] == 0
    with dj.config.override({"jobs.heartbeat_timeout": 0.0}):
        assert p.Sq.populate(reserve_jobs=True)["success_count"] == 5
    assert 0 not in p.Sq.log and job(p, 0)["status"] == "reserved"


def test_job_of_other_host_is_requeued_after_silence(p, conn):
    jobs = p.Sq.jobs
    jobs.refresh()
    assert jobs.reserve({"n": 0})
    set_job(conn, jobs, 0, host="elsewhere", pid=1, connection_id=0)  # no lease here
    assert jobs.requeue_orphans(60) == 0  # its heartbeat is fresh
    assert jobs.refresh(heartbeat_timeout=60)["orphaned"] == 0
    set_job(conn, jobs, 0, heartbeat=conn.dialect.seconds_from_now(-120))
    assert jobs.requeue_orphans(600) == 0
    assert jobs.requeue_orphans(60) == 1
    assert job(p, 0)["status"] == "pending"


def test_heartbeat_advances_while_make_runs(schema, conn2, schema_name):
    tables = declare(schema)
    Src = tables["Src"]
    beats = []

    @schema
    class Slow(dj.Computed):
        definition = """
        -> Src
        ---
        done: int32
        """

        def make(self, key):
            self.insert1({**key, "done": 1})
            time.sleep(1.0)

    Src.insert1({"n": 1})
    Slow.jobs.refresh()
    other = dj.Schema(schema_name, connection=conn2)
    watched = other(type("Slow", (dj.Computed,), {"definition": Slow.definition,
                                                  "make": Slow.make}),
                    context={"Src": other(type("Src", (dj.Manual,),
                                               {"definition": Src.definition}))})
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            rows = (watched.jobs & {"n": 1, "status": "reserved"}).to_dicts()
            if rows:
                beats.append((rows[0]["reserved_time"], rows[0]["heartbeat"]))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    try:
        with dj.config.override({"jobs.heartbeat_interval": 0.2}):
            assert Slow.populate(reserve_jobs=True)["success_count"] == 1
    finally:
        stop.set()
        watcher.join()
    assert time.perf_counter() - started < 5  # a blocked heartbeat does not hold make up
    assert beats, "the reserved job was never seen"
    # (on SQLite too: make's insert is staged, so it holds no write lock while it sleeps)
    reserved_time = beats[0][0]
    latest = max(b for _, b in beats if b is not None)
    assert (latest - reserved_time).total_seconds() >= 0.4


# --- interrupts ------------------------------------------------------------------------------


def test_keyboard_interrupt_rolls_back_and_records_an_error_job(p):
    p.Sq.fail = {2: KeyboardInterrupt()}
    with pytest.raises(KeyboardInterrupt):
        p.Sq.populate(reserve_jobs=True, suppress_errors=True)
    assert not p.Sq & {"n": 2}
    assert job(p, 2)["status"] == "error"  # as in DataJoint 2.x
    assert p.Sq.jobs.errors.fetch1("error_message") == "KeyboardInterrupt"
    assert "KeyboardInterrupt" in p.Sq.jobs.errors.fetch1("error_stack")
    assert not p.Sq.jobs.reserved
    p.Sq.fail = {}
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 3  # the error job waits
    p.Sq.jobs.errors.retry()
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 1


def test_keyboard_interrupt_direct_mode_leaves_no_row(p):
    p.Sq.fail = {0: KeyboardInterrupt()}
    with pytest.raises(KeyboardInterrupt):
        p.Sq.populate(suppress_errors=True)
    assert len(p.Sq) == 0 and len(p.Sq.Digit) == 0
    assert not p.Sq.jobs.reserved and not p.Sq.jobs.completed


# --- tripartite make ---------------------------------------------------------------------------


def tripartite(schema, conn2, schema_name, mutate: bool):
    tables = declare(schema)
    Src = tables["Src"]
    other = Src if not mutate else dj.Schema(schema_name, connection=conn2)(
        type("Src", (dj.Manual,), {"definition": Src.definition}))
    seen = []

    @schema
    class Tri(dj.Computed):
        definition = """
        -> Src
        ---
        total: int64
        """

        def make_fetch(self, key):
            return (Src & key).fetch1("v"),

        def make_compute(self, key, v):
            seen.append(self.connection.in_transaction)
            if mutate and key["n"] == 1:
                other.update1({"n": 1, "v": 99})
            return key["n"] * 10 + v

        def make_insert(self, key, total):
            assert self.connection.in_transaction
            self.insert1({**key, "total": total})

    Src.insert([{"n": n} for n in range(3)])
    return Tri, seen


def test_tripartite_computes_outside_transaction(schema, conn2, schema_name):
    Tri, seen = tripartite(schema, conn2, schema_name, mutate=False)
    assert Tri.populate()["success_count"] == 3
    assert seen == [False, False, False]
    assert Tri.to_dicts(order_by="n") == [{"n": n, "total": 10 * n + 1} for n in range(3)]


def test_tripartite_refuses_changed_inputs(schema, conn2, schema_name):
    Tri, _ = tripartite(schema, conn2, schema_name, mutate=True)
    with pytest.raises(DataJointError, match=r"'n': 1") as info:
        Tri.populate({"n": 1})
    assert "changed" in str(info.value)
    assert len(Tri) == 0
    assert Tri.jobs.errors.to_arrays("n").tolist() == [1]
    assert Tri.populate()["success_count"] == 3  # the inputs are stable now
    assert Tri.to_dicts(order_by="n")[1] == {"n": 1, "total": 10 + 99}


# --- provenance and stale ----------------------------------------------------------------------


def test_job_records_provenance(p):
    with dj.config.override({"jobs.keep_completed": True}):
        p.Sq.populate({"n": 0})
        p.Sq.populate(reserve_jobs=True)
        rows = p.Sq.jobs.completed.to_dicts(order_by="n")
        assert [r["n"] for r in rows] == list(range(6))
        version = code_version(type(p.Sq()))
        assert version
        for row in rows:
            assert row["status"] == "success"
            assert row["duration"] > 0
            assert row["host"] == socket.gethostname()
            assert row["pid"] == os.getpid()
            assert row["user"] != "" or os.environ.get("USER") is None
            assert row["version"] == version
            assert row["completed_time"] is not None


def test_stale_lists_keys_of_old_make(p, schema):
    with dj.config.override({"jobs.keep_completed": True}):
        p.Sq.populate()
        assert len(p.Sq.stale()) == 0

        @schema
        class Sq2(dj.Computed):
            _table_name = p.Sq.table_name
            definition = p.Sq.definition

            def make(self, key):  # a new version of the computation
                self.insert1({**key, "sq": key["n"] * key["n"]})

        assert code_version(Sq2) != code_version(p.Sq)
        assert sorted(Sq2.stale().to_arrays("n").tolist()) == list(range(6))
        (Sq2 & "n < 2").delete()
        assert Sq2.populate()["success_count"] == 2
        assert sorted(Sq2.stale().to_arrays("n").tolist()) == [2, 3, 4, 5]
        (Sq2 & Sq2.stale()).delete()
        Sq2.populate(reserve_jobs=True)
        assert len(Sq2.stale()) == 0 and len(Sq2) == 6
        assert sorted(p.Sq.stale().to_arrays("n").tolist()) == list(range(6))


# --- events ------------------------------------------------------------------------------------


def test_observer_receives_every_event(p):
    p.Sq.fail = {4: ValueError("four")}
    seen = []
    result = p.Sq.populate(suppress_errors=True, observers=[seen.append])
    assert result["success_count"] == 5
    kinds = [e.kind for e in seen]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert seen[0].total == 6
    started = sorted(e.key["n"] for e in seen if e.kind == "key_started")
    done = sorted(e.key["n"] for e in seen if e.kind == "key_done")
    failed = [e for e in seen if e.kind == "key_failed"]
    assert started == list(range(6)) and done == [0, 1, 2, 3, 5]
    assert [e.key for e in failed] == [{"n": 4}] and failed[0].error == "ValueError: four"
    assert seen[-1].done == 5 and seen[-1].failed == 1
    assert all(e.table == p.Sq.full_name for e in seen)


def test_subscribe_and_unsubscribe(p):
    seen = []
    unsubscribe = events.subscribe(seen.append)
    try:
        p.Sq.populate({"n": 0})
    finally:
        unsubscribe()
    assert [e.kind for e in seen] == ["started", "key_started", "key_done", "finished"]
    p.Sq.populate()
    assert len(seen) == 4
    unsubscribe()  # twice is harmless


def test_raising_observer_does_not_break_populate(p):
    def broken(event):
        raise RuntimeError("observer bug")

    unsubscribe = events.subscribe(broken)
    try:
        assert p.Sq.populate(observers=[broken], reserve_jobs=True)["success_count"] == 6
    finally:
        unsubscribe()
    assert len(p.Sq) == 6


def test_display_progress_runs(p, capsys):
    assert p.Sq.populate(display_progress=True)["success_count"] == 6
    assert p.Sq.populate(display_progress=True, reserve_jobs=True)["success_count"] == 0


def test_keys_of_every_kind_are_made_and_recorded(schema):
    """Keys of date, datetime, uuid, decimal, text and bool types travel through the
    done-check and the job record (on PostgreSQL as text into a prepared statement)."""
    import datetime as dt
    import decimal
    import uuid

    @schema
    class Sample(dj.Manual):
        definition = """
        day: date
        at: datetime(3)
        id: uuid
        amount: decimal(8,3)
        name: varchar(16)
        flag: bool
        """

    @schema
    class Measured(dj.Computed):
        definition = """
        -> Sample
        ---
        size: int32
        """

        def make(self, key):
            self.insert1({**key, "size": len(key["name"])})

    rows = [{"day": dt.date(2026, 1, 1 + n), "at": dt.datetime(2026, 1, 1, 12, n, 0, 125000),
             "id": uuid.UUID(int=n + 1), "amount": decimal.Decimal(f"{n}.125"),
             "name": f"o'{n}%s\\", "flag": n % 2 == 0}
            for n in range(4)]
    Sample.insert(rows)
    with dj.config.override({"jobs.keep_completed": True}):
        assert Measured.populate() == {"success_count": 4, "error_list": []}
    assert sorted(Measured.to_arrays("size").tolist()) == [6, 6, 6, 6]
    jobs = Measured.jobs.to_dicts()
    assert len(jobs) == 4 and {j["status"] for j in jobs} == {"success"}
    assert sorted(j["id"] for j in jobs) == [r["id"] for r in rows]
    assert sorted(j["name"] for j in jobs) == [r["name"] for r in rows]
    assert not Measured.stale()


def test_done_check_by_range_and_by_value(p):
    """One-attribute keys: the rows between the batch's first and last key, or, when that
    range holds more rows than it may return, the keys asked for by value."""
    from dj_jupyter.populate.done_check import DoneCheck

    p.Src.insert([{"n": n} for n in range(6, 40)])
    p.Sq.insert([{"n": n, "sq": n * n} for n in range(1, 30)], allow_direct_insert=True)
    check = DoneCheck(p.Sq(), p.Sq.jobs.key_binders, batch=3)  # a range returns < 6 rows
    assert check([{"n": 30}, {"n": 31}, {"n": 32}]) == set()
    assert check([{"n": 28}, {"n": 30}, {"n": 32}]) == {(28,), (29,)}  # 29: made, not asked
    assert check([{"n": 0}, {"n": 15}, {"n": 30}]) == {(15,)}  # 29 rows in range: by value
    assert check([{"n": 15}]) == {(15,)}
    assert check([{"n": 0}, {"n": 30}, {"n": 31}, {"n": 5}, {"n": 7}]) == {(5,), (7,)}
