"""Worker liveness (invariant 3): a dead worker's job is re-queued whatever its pid says, and
live workers re-queue it while they work, on every backend.

A killed worker that is not yet reaped is a zombie (``kill(pid, 0)`` succeeds), and a dead
worker's pid may belong to another process by now: neither keeps the job. On PostgreSQL and
MySQL a stale heartbeat decides; on SQLite, where heartbeats stall during a make, the
worker's lease (a lock file its process holds, see ``dj_jupyter.populate.leases``) does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import dj_jupyter as dj
from dj_jupyter.populate.jobs import _process_alive
from tests.backend import test_workers
from tests.backend.test_workers import REPO, Workers, _stop

workers = test_workers.workers  # the fixture: the pipeline bound to this test's schema

pytestmark = pytest.mark.slow

BEAT = "0.2"  # the workers' heartbeat interval, seconds
TIMEOUT = 1.0  # the heartbeat timeout the test applies


def _process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0]


def _requeued(jobs, timeout: float = TIMEOUT, deadline: float = 60) -> int:
    """Ask the queue to re-queue dead workers' jobs until it does (a stale heartbeat takes
    ``timeout`` seconds to become stale); the count re-queued."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        count = jobs.requeue_orphans(timeout)
        if count:
            return count
        time.sleep(0.1)
    pytest.fail(f"the dead worker's job was not re-queued within {deadline} s")


def _holder(workers: Workers, held: int) -> tuple[subprocess.Popen, int]:
    """A CLI worker that reserves ``held`` and is stopped inside its make."""
    proc = workers.start("w", DJ_WORKERS_HOLD=str(held), DJ_JOBS_HEARTBEAT_INTERVAL=BEAT)
    return proc, workers.wait_for_hold(held, [proc])


def _still_pending_or_made_once(workers: Workers, keys: list[int]) -> None:
    result = workers.Work.populate(reserve_jobs=True)
    assert result["error_list"] == []
    workers.assert_exactly_once(keys)


def test_a_zombie_worker_loses_its_job(workers: Workers, backend: str) -> None:
    keys = workers.fill(3)
    jobs = workers.Work.jobs
    jobs.refresh()
    proc, pid = _holder(workers, 1)
    try:
        # alive: it keeps its job; on SQLite even with a zero timeout (its lease, while the
        # make's transaction stalls its heartbeat)
        assert jobs.requeue_orphans(0 if backend == "sqlite" else 60) == 0
        assert len(jobs.reserved & {"k": 1}) == 1
        os.kill(pid, signal.SIGKILL)  # killed, not reaped: a zombie
        while _process_state(pid) != "Z":
            time.sleep(0.02)
        os.kill(pid, 0)  # the old liveness check calls it alive
        assert _requeued(jobs) == 1
        assert len(jobs.pending & {"k": 1}) == 1 and len(jobs.reserved) == 0
        assert _process_state(pid) == "Z"  # re-queued while still a zombie
    finally:
        _stop([proc])
    _still_pending_or_made_once(workers, keys)


def test_a_dead_workers_pid_reused_by_a_live_process_does_not_keep_its_job(
        workers: Workers, backend: str) -> None:
    keys = workers.fill(3)
    jobs = workers.Work.jobs
    jobs.refresh()
    proc, pid = _holder(workers, 1)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        os.kill(pid, signal.SIGKILL)
        proc.wait()  # reaped: its pid is free for reuse
        # the dead worker's pid now names a live, unrelated process
        table = jobs.sa_table
        connection = workers.Work.connection
        connection.execute(sa.update(table).where(table.c.k == 1).values(pid=stranger.pid))
        assert _process_alive(stranger.pid)
        assert _requeued(jobs) == 1
        assert len(jobs.pending & {"k": 1}) == 1
    finally:
        _stop([proc, stranger])
    _still_pending_or_made_once(workers, keys)


def test_a_live_worker_keeps_its_job_with_a_fresh_heartbeat(workers: Workers,
                                                            backend: str) -> None:
    workers.fill(2)
    jobs = workers.Work.jobs
    jobs.refresh()
    child = _reserving_child(workers, 0)
    try:
        time.sleep(4 * float(BEAT))  # several heartbeats
        # its heartbeat is fresh (beats every 0.2 s; 10 s of margin for a loaded machine),
        # and on SQLite its lease is held
        assert jobs.requeue_orphans(10) == 0
        assert len(jobs.reserved & {"k": 0}) == 1
    finally:
        _stop([child])
    assert _requeued(jobs) == 1


def _reserving_child(workers: Workers, k: int) -> subprocess.Popen:
    """A worker process that reserves key ``k`` and waits, keeping its heartbeat."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.backend.liveness_child", str(k), BEAT],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if line.strip() != "reserved":
        child.kill()
        pytest.fail(f"the reserving child failed: {line} {child.stderr.read()}")
    return child


def test_live_workers_requeue_a_dead_workers_job_before_the_queue_drains(
        workers: Workers, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 60
    keys = workers.fill(n)
    jobs = workers.Work.jobs
    jobs.refresh()
    victim = _reserving_child(workers, 0)  # holds the first key of the queue
    monkeypatch.setenv("DJ_WORKERS_SLEEP", "0.1")  # each make takes at least 0.1 s
    made: list[int] = []

    def kill_the_victim(event) -> None:
        if event.kind == "key_done":
            made.append(event.key["k"])
            if len(made) == 3:  # the live worker is under way: the other worker dies
                victim.kill()
                victim.wait()

    try:
        with dj.config.override({"jobs.heartbeat_interval": float(BEAT),
                                 "jobs.heartbeat_timeout": TIMEOUT}):
            result = workers.Work.populate(reserve_jobs=True, observers=[kill_the_victim])
    finally:
        _stop([victim])
    assert result["error_list"] == [] and result["success_count"] == n
    workers.assert_exactly_once(keys)
    position = made.index(0)
    # re-queued within about (timeout + a sweep period) / 0.1 s = ~16 keys of the kill, not
    # after the other 59 keys
    assert position < n // 2, (position, made)
    print(f"{backend}: dead worker's key made as number {position + 1} of {n}")


def test_leases_live_beside_the_sqlite_file(workers: Workers, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("leases are SQLite's proof of life; servers use heartbeats")
    workers.fill(1)
    jobs = workers.Work.jobs
    jobs.refresh()
    child = _reserving_child(workers, 0)
    folder = Path(workers.Work.connection.url.database + ".workers")
    try:
        token = (jobs & {"k": 0}).to_dicts()[0]["connection_id"]
        assert token and (folder / f"{token}.lease").exists()
        assert jobs.requeue_orphans(0) == 0  # held: alive, however old the heartbeat
    finally:
        _stop([child])
    assert jobs.requeue_orphans(3600) == 1  # free: gone, however fresh the heartbeat
    assert not (folder / f"{token}.lease").exists()
