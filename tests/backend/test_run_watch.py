"""Running and watching populate: stop, totals, phases, interrupts, grouped errors with retry
and ignore, the panel's job-table reads (counts, workers of other processes), and background
populate on connections of its own — on every backend."""

from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.backends.own_connections import own_connections
from dj_jupyter.errors import DataJointError
from dj_jupyter.populate.job_errors import ErrorRows
from dj_jupyter.populate.result import PopulateInterrupted, PopulateResult
from tests.backend.test_populate import declare


@pytest.fixture
def conn2(db_url):
    """A second connection to the test database (another worker's)."""
    connection = dj.Connection(db_url)
    yield connection
    connection.close()


@pytest.fixture
def p(schema):
    tables = declare(schema)
    tables["Src"].insert([{"n": n} for n in range(30)])
    return type("Pipeline", (), tables)


def failing(p, every: int = 5) -> None:
    p.Sq.fail = {n: ValueError(f"unlucky {n}") for n in range(30) if n % every == 3}


# --- populate's hooks ------------------------------------------------------------------------


def test_result_is_the_same_dict_with_a_summary_line(p):
    failing(p)
    result = p.Sq.populate(suppress_errors=True)
    assert isinstance(result, PopulateResult)
    assert result["success_count"] == 24 and len(result["error_list"]) == 6
    assert result == {"success_count": 24, "error_list": result["error_list"]}
    assert result.summary == "Sq: 24 made, 6 failed \u2014 1 kind of error (ValueError \u00d76)"


@pytest.mark.parametrize("reserve", [False, True])
def test_started_event_tells_this_runs_keys_of_all_to_do(p, reserve):
    seen = []
    p.Sq.populate(max_calls=3, reserve_jobs=reserve, observers=[seen.append])
    started = seen[0]
    assert started.kind == "started" and started.total == 3
    assert started.extra["todo"] == 30  # "3 of 30"
    assert seen[-1].kind == "finished" and seen[-1].done == 3


@pytest.mark.parametrize("reserve", [False, True])
def test_stop_finishes_the_key_being_made_and_leaves_the_rest(p, reserve):
    stop = threading.Event()

    def stop_after_four(event):
        if event.kind == "key_done" and event.done == 4:
            stop.set()

    result = p.Sq.populate(reserve_jobs=reserve, stop=stop, observers=[stop_after_four])
    assert result["success_count"] == 4 and result.stopped
    assert len(p.Sq) == 4
    assert "stopped" in result.summary
    if reserve:
        assert len(p.Sq.jobs.pending) == 26 and not p.Sq.jobs.reserved
    stop.clear()
    assert p.Sq.populate(reserve_jobs=reserve, stop=stop)["success_count"] == 26


def test_tripartite_make_reports_its_phases(schema):
    tables = declare(schema)
    Src = tables["Src"]

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
            return key["n"] + v

        def make_insert(self, key, total):
            self.insert1({**key, "total": total})

    Src.insert([{"n": n} for n in range(2)])
    seen = []
    Tri.populate(observers=[seen.append])
    phases = [(e.key["n"], e.extra["phase"]) for e in seen if e.kind == "key_phase"]
    assert phases == [(n, phase) for n in range(2) for phase in ("fetch", "compute", "insert")]


def test_interrupt_is_one_populate_interrupted_that_says_what_was_kept(p):
    p.Sq.fail = {2: KeyboardInterrupt()}
    seen = []
    with pytest.raises(PopulateInterrupted) as info:
        p.Sq.populate(reserve_jobs=True, observers=[seen.append])
    assert isinstance(info.value, KeyboardInterrupt)
    assert "Sq.populate interrupted: 2 made" in str(info.value)
    assert "{'n': 2} rolled back" in str(info.value)
    assert seen[-1].kind == "finished" and seen[-1].extra["interrupted"]
    assert not p.Sq.jobs.reserved and len(p.Sq) == 2


# --- error triage ------------------------------------------------------------------------------


def test_errors_grouped_by_kind_with_counts_and_keys(p):
    failing(p)
    p.Sq.fail[7] = KeyError("missing channel")
    p.Sq.populate(reserve_jobs=True, suppress_errors=True)
    errors = p.Sq.jobs.errors
    assert isinstance(errors, ErrorRows) and len(errors) == 7
    groups = errors.groups()
    assert [(g.kind, g.pattern, g.count) for g in groups] == [
        ("ValueError", "unlucky #", 6), ("KeyError", "'missing channel'", 1)]
    assert groups[0].keys == [{"n": n} for n in (3, 8, 13, 18, 23, 28)]
    assert errors.summary().splitlines()[0] == "6 \u00d7 ValueError: unlucky #"
    frames, error = groups[0].frames()
    assert [f.function for f in frames] == ["make"]  # populate's own frames are trimmed
    assert frames[0].file.endswith("test_populate.py")
    assert error == "ValueError: unlucky 3"
    assert len(errors & {"n": 3}) == 1 and isinstance(errors & {"n": 3}, ErrorRows)


def test_retry_and_ignore_by_group_and_by_key(p):
    failing(p)
    p.Sq.populate(reserve_jobs=True, suppress_errors=True)
    errors = p.Sq.jobs.errors
    assert errors.ignore([{"n": 3}]) == 1
    assert errors.retry(errors.groups()[0].keys[:2]) == 2
    assert sorted(k["n"] for k in p.Sq.jobs.pending.keys()) == [8, 13]
    assert p.Sq.jobs.ignored.keys() == [{"n": 3}]
    p.Sq.fail = {}
    assert p.Sq.populate(reserve_jobs=True, refresh=False)["success_count"] == 2
    assert errors.retry() == 3  # the rest of the group
    assert p.Sq.populate(reserve_jobs=True)["success_count"] == 3
    assert len(p.Sq) == 29 and not p.Sq & {"n": 3}  # the ignored key is skipped
    with pytest.raises(DataJointError, match="full primary key"):
        errors.retry([{"m": 1}])


# --- what the panel reads ---------------------------------------------------------------------


def test_panel_counts_and_a_worker_of_another_process(p, conn2):
    pytest.importorskip("anywidget")
    from dj_jupyter.jupyter.table_watch import TableWatch, read_counts

    failing(p)
    p.Sq.populate(reserve_jobs=True, suppress_errors=True, max_calls=10)
    jobs = p.Sq.jobs
    pending = jobs.pending.keys(order_by="KEY")
    table = jobs.sa_table
    conn2.execute(sa.update(table).where(table.c.n == pending[0]["n"]).values(
        status="reserved", host="other-machine", pid=4242,
        reserved_time=conn2.dialect.now(), heartbeat=conn2.dialect.now()))
    watch = TableWatch(p.Sq)
    read_counts(watch)
    assert (watch.total, watch.remaining) == (30, 22)
    assert watch.jobs["error"] == 2 and watch.jobs["reserved"] == 1
    assert [(w["host"], w["pid"], w["jobs"]) for w in watch.workers] == [
        ("other-machine", 4242, 1)]
    assert 0 <= watch.workers[0]["heartbeat_age"] < 60
    assert [g["count"] for g in watch.groups] == [2]
    restricted = TableWatch(p.Sq, ({"n": 3},))
    read_counts(restricted)
    assert (restricted.total, restricted.remaining, restricted.jobs) == (1, 1, {"error": 1})


def test_background_populate_uses_its_own_connections(p):
    main = p.Sq.connection
    seen: list = []

    def work():
        with own_connections():
            seen.append(p.Sq().connection)
            p.Sq.populate(reserve_jobs=True)

    thread = threading.Thread(target=work)
    with dj.config.override({"jobs.keep_completed": True}):  # records say who made each key
        with main.transaction:  # the notebook's connection is busy: the thread never uses it
            thread.start()
            if main.backend != "sqlite":  # SQLite: one writer, the thread waits for this one
                thread.join(60)
        thread.join(60)
    assert seen and seen[0] is not main and not seen[0].is_connected
    assert len(p.Sq) == 30 and len(p.Sq.Digit) > 30
    assert {r["pid"] for r in p.Sq.jobs.completed.to_dicts()} == {os.getpid()}


def test_a_raising_populate_still_announces_its_end(p):
    failing(p)
    seen = []
    with pytest.raises(ValueError, match="unlucky 3"):
        p.Sq.populate(observers=[seen.append])
    assert seen[-1].kind == "finished" and seen[-1].extra == {
        "interrupted": False, "error": "ValueError: unlucky 3"}
    assert [e.kind for e in seen].count("finished") == 1
