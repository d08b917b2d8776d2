"""``jobs.refresh`` as DataJoint 2.x defines it: what it adds, re-queues and removes, judged
against the whole ``key_source``, in a fixed number of statements; the queue's table; the
time a job is recorded as finished."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj


def declare(schema: dj.Schema, *, gate: bool = False) -> tuple[type, type]:
    """Raw (manual) -> Doubled (computed). ``gate``: key_source only rows with v >= 0."""

    @schema
    class Raw(dj.Manual):
        definition = """
        raw_id : int32
        ---
        v : float64
        """

    class Doubled(dj.Computed):
        definition = """
        -> Raw
        ---
        w : float64
        """
        delay = 0.0

        def make(self, key):
            time.sleep(self.delay)
            self.insert1(dict(key, w=2 * (Raw & key).fetch1("v")))

    if gate:
        Doubled.key_source = property(lambda self: Raw & "v >= 0")
    return Raw, schema(Doubled)


def statuses(jobs) -> dict[int, str]:
    return {row["raw_id"]: row["status"] for row in jobs.proj("status").to_dicts()}


def backdate(jobs, keys=None) -> None:
    """Make jobs older than any stale_timeout a test uses."""
    for key in jobs.keys() if keys is None else keys:
        jobs.update1({**key, "created_time": dt.datetime(2000, 1, 1)})


@pytest.fixture
def pipe(schema):
    Raw, Doubled = declare(schema)
    return Raw, Doubled


def test_success_records_stay_while_their_rows_exist(schema):
    Raw, Gated = declare(schema, gate=True)
    with dj.config.override({"jobs.keep_completed": True}):
        Raw.insert([{"raw_id": i, "v": float(i)} for i in range(3)])
        Gated.populate(reserve_jobs=True)
        Raw.update1({"raw_id": 0, "v": -1.0})  # leaves key_source; its Gated row stays
        result = Gated.jobs.refresh()
        assert statuses(Gated.jobs) == {0: "success", 1: "success", 2: "success"}
        assert result["removed"] == 0
        (Gated & {"raw_id": 0}).delete()  # now in neither: the record goes at once
        assert Gated.jobs.refresh()["removed"] == 1
        assert statuses(Gated.jobs) == {1: "success", 2: "success"}


def test_a_deleted_row_whose_key_remains_is_pending_again(pipe):
    Raw, Doubled = pipe
    with dj.config.override({"jobs.keep_completed": True}):
        Raw.insert([{"raw_id": i, "v": float(i)} for i in range(3)])
        Doubled.populate(reserve_jobs=True)
        (Doubled & {"raw_id": 1}).delete()
        assert Doubled.jobs.refresh()["re_pended"] == 1
        assert statuses(Doubled.jobs) == {0: "success", 1: "pending", 2: "success"}
        assert Doubled.populate(reserve_jobs=True)["success_count"] == 1


def test_waiting_jobs_of_vanished_keys_go_after_the_stale_timeout(pipe):
    Raw, Doubled = pipe
    Raw.insert([{"raw_id": i, "v": float(i)} for i in range(3)])
    jobs = Doubled.jobs
    jobs.refresh()
    (Raw & {"raw_id": 2}).delete()
    assert jobs.refresh()["removed"] == 0  # fresh: kept (the key may come back)
    assert Doubled.populate(reserve_jobs=True)["success_count"] == 2  # but never made
    assert statuses(jobs) == {2: "pending"}
    backdate(jobs)
    assert jobs.refresh(stale_timeout=0)["removed"] == 0  # 0: never by age
    assert jobs.refresh(stale_timeout=60)["removed"] == 1
    assert statuses(jobs) == {}


def test_the_stale_timeout_setting_is_the_default(pipe):
    Raw, Doubled = pipe
    Raw.insert1({"raw_id": 0, "v": 0.0})
    Doubled.jobs.refresh()
    Raw.delete()
    with dj.config.override({"jobs.stale_timeout": 0}):
        backdate(Doubled.jobs)
        assert Doubled.jobs.refresh()["removed"] == 0
    assert Doubled.jobs.refresh()["removed"] == 1


def test_restricted_refresh_adds_only_its_keys_and_cleans_against_the_whole_source(pipe):
    Raw, Doubled = pipe
    Raw.insert([{"raw_id": i, "v": float(i)} for i in range(5)])
    jobs = Doubled.jobs
    assert jobs.refresh("raw_id < 3")["added"] == 3
    assert jobs.reserve({"raw_id": 1})
    assert jobs.reserve({"raw_id": 2})
    jobs.error({"raw_id": 2}, "failed")
    (Raw & {"raw_id": 0}).delete()
    backdate(jobs)
    result = jobs.refresh({"raw_id": 4})
    assert result == {"added": 1, "removed": 1, "re_pended": 0, "orphaned": 0}
    assert statuses(jobs) == {1: "reserved", 2: "error", 4: "pending"}


def test_orphan_timeout_requeues_long_reservations(pipe):
    Raw, Doubled = pipe
    Raw.insert([{"raw_id": i, "v": float(i)} for i in range(2)])
    jobs = Doubled.jobs
    jobs.refresh()
    assert jobs.reserve({"raw_id": 0})
    assert jobs.refresh(orphan_timeout=3600)["orphaned"] == 0  # this worker lives, just now
    jobs.update1({"raw_id": 0, "reserved_time": dt.datetime(2000, 1, 1)})
    assert jobs.refresh(orphan_timeout=3600)["orphaned"] == 1
    assert statuses(jobs) == {0: "pending", 1: "pending"}


def test_cleanup_takes_a_fixed_number_of_statements(pipe, conn, monkeypatch):
    Raw, Doubled = pipe
    counts = {}
    for n in (3, 30):
        with dj.config.override({"jobs.keep_completed": True}):
            Raw.insert([{"raw_id": i, "v": float(i)} for i in range(n)])
            Doubled.populate(reserve_jobs=True)
            Raw.delete()  # the Doubled rows go too: every record is of a vanished key
            backdate(Doubled.jobs)
            with _statements(conn, monkeypatch) as sent:
                assert Doubled.jobs.refresh()["removed"] == n
            assert len(Doubled.jobs) == 0
            counts[n] = sent
    assert counts[3] == counts[30]  # the same statements whatever the number of keys
    assert 1 <= counts[30].count("DELETE") <= 2


@contextlib.contextmanager
def _statements(conn, monkeypatch):
    """The first word of every statement ``conn`` sends meanwhile, by each of its paths (the
    SQLAlchemy one, the raw cursor one, raw SQL)."""
    sent: list[str] = []

    def word(statement) -> str:
        text = statement if isinstance(statement, str) else str(statement)
        return text.lstrip().split(None, 1)[0].upper()

    for name in ("execute", "run", "query"):
        original = getattr(conn, name)

        def counting(statement, *args, original=original, **kwargs):
            sent.append(word(statement))
            return original(statement, *args, **kwargs)

        monkeypatch.setattr(conn, name, counting)
    try:
        yield sent
    finally:
        monkeypatch.undo()


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_refresh_leaves_the_queue_consistent(schema, data):
    """Whatever was made, failed, deleted upstream or below: after a refresh every key still
    to make has a job, and no result or failure record describes a key that is gone from both
    key_source and the table."""
    Raw, Gated = _fresh_gated(schema)
    keys = range(6)
    with dj.config.override({"jobs.keep_completed": True}):
        Raw.insert([{"raw_id": i, "v": float(i)} for i in keys])
        subsets = st.sets(st.sampled_from(keys))
        made = data.draw(subsets, "made")
        failed = data.draw(subsets, "failed") - made
        for i in made:
            Gated.populate({"raw_id": i}, reserve_jobs=True)
        Gated.jobs.refresh()
        for i in failed:
            assert Gated.jobs.reserve({"raw_id": i})
            Gated.jobs.error({"raw_id": i}, "failed")
        for i in data.draw(subsets, "gated out"):
            Raw.update1({"raw_id": i, "v": -1.0})
        for i in data.draw(subsets, "rows deleted") & made:
            (Gated & {"raw_id": i}).delete()
        Gated.jobs.refresh(stale_timeout=0)

        source = set(Gated().key_source.to_arrays("raw_id").tolist())
        rows = set(Gated.to_arrays("raw_id").tolist())
        queue = statuses(Gated.jobs)
        assert source - rows <= set(queue)
        for i, status in queue.items():
            if status in ("success", "error"):
                assert i in source or i in rows, (i, status)
            if status == "success" and i in source:
                assert i in rows  # else it would be pending again


def _fresh_gated(schema):
    """The tables, emptied, for one hypothesis example (declared again: binds, no DDL)."""
    Raw, Gated = declare(schema, gate=True)
    Gated.jobs.delete()
    Raw.delete()
    return Raw, Gated


# --- the queue's table ---------------------------------------------------------------------------


def test_is_declared_tells_without_declaring(pipe):
    Raw, Doubled = pipe
    jobs = Doubled.jobs
    assert not jobs.is_declared
    jobs.declare()
    assert jobs.is_declared
    assert jobs.heading["raw_id"].original_type == "int32"


def test_a_queue_first_reached_by_name_refreshes_from_the_class(pipe, schema):
    Raw, Doubled = pipe
    Raw.insert([{"raw_id": i, "v": float(i)} for i in range(3)])
    Doubled.jobs.declare()
    by_name = schema.jobs  # FreeTable targets: the natural key source
    assert by_name[0].refresh()["added"] == 3
    by_name[0].delete()
    assert Doubled.jobs.refresh()["added"] == 3


def test_completed_time_is_when_the_make_finished(pipe):
    Raw, Doubled = pipe
    Doubled.delay = 0.2
    Raw.insert([{"raw_id": i, "v": float(i)} for i in range(2)])
    with dj.config.override({"jobs.keep_completed": True}):
        Doubled.populate(reserve_jobs=True)
    for job in Doubled.jobs.completed.to_dicts():
        assert job["completed_time"] - job["reserved_time"] >= dt.timedelta(seconds=0.15), job
