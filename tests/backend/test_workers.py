"""Distributed populate: worker processes sharing the job queue, on every backend.

The pipeline is ``tests/backend/workers_pipeline.py``: worker processes import it by module
path, and it activates its schema from ``DJ_WORKERS_*`` environment variables that the
``workers`` fixture sets (children inherit them). ``Work.make`` inserts its result and a
``MakeCall`` row in the populate transaction and appends an attempt line to a log file
outside it, so the tests can tell committed computations from attempts.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import dj_jupyter as dj

REPO = Path(__file__).resolve().parents[2]
TARGET = "tests.backend.workers_pipeline:Work"
CLI = Path(sys.executable).with_name("dj-jupyter")

pytestmark = pytest.mark.slow


class Workers:
    """The pipeline module bound to this test's schema, and helpers to start workers."""

    def __init__(self, module, url: str, folder: Path):
        self.module = module
        self.url = url
        self.folder = folder
        self.Key, self.Work, self.MakeCall = module.Key, module.Work, module.MakeCall

    def fill(self, n: int) -> list[int]:
        keys = list(range(n))
        self.Key.insert([{"k": k} for k in keys])
        return keys

    def env(self, **extra: str) -> dict[str, str]:
        """A worker's environment: the URL comes from ``--url`` (the CLI's default
        connection), not from DJ_WORKERS_URL."""
        env = {**os.environ, **extra}
        env.pop("DJ_WORKERS_URL", None)
        return env

    def start(self, name: str, *args: str, target: str = TARGET, **extra: str) -> subprocess.Popen:
        out = open(self.folder / f"{name}.out", "w")  # noqa: SIM115 - closed by the process end
        err = open(self.folder / f"{name}.err", "w")  # noqa: SIM115
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "dj_jupyter.cli", "populate", target, "--reserve-jobs",
                 "--url", self.url, *args],
                env=self.env(**extra), cwd=REPO, stdout=out, stderr=err)
        finally:
            out.close()
            err.close()

    def output(self, name: str) -> tuple[str, str]:
        return ((self.folder / f"{name}.out").read_text(),
                (self.folder / f"{name}.err").read_text())

    def attempts(self) -> Counter:
        log = self.folder / "attempts.log"
        lines = log.read_text().split() if log.exists() else []
        return Counter(int(k) for k in lines[::2])

    def wait_for_hold(self, k: int, procs: list[subprocess.Popen], timeout: float = 60) -> int:
        """The pid of the worker holding key ``k`` inside its make."""
        marker = self.folder / f"hold-{k}"
        deadline = time.monotonic() + timeout
        while not marker.exists():
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                names = {p.pid: p.returncode for p in dead}
                pytest.fail(f"no worker reached the make of key {k} (exited: {names})")
            time.sleep(0.02)
        return int(marker.read_text())

    def assert_exactly_once(self, keys: list[int]) -> None:
        results = self.Work.to_dicts()
        assert Counter(r["k"] for r in results) == Counter(keys)
        calls = self.MakeCall.to_dicts()
        per_key = Counter(r["k"] for r in calls)
        assert per_key == Counter(keys), {k: n for k, n in per_key.items() if n != 1}
        made_by = {r["k"]: r["pid"] for r in calls}
        assert all(made_by[r["k"]] == r["pid"] for r in results)  # same make, same commit
        assert len(self.Work.jobs.reserved) == 0
        progress = self.Work.jobs.progress()
        assert progress["reserved"] == 0 and progress["pending"] == 0
        assert progress["error"] == 0


@pytest.fixture
def workers(db_url: str, schema_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The pipeline module, re-imported for this test's database and schema."""
    monkeypatch.setenv("DJ_WORKERS_URL", db_url)
    monkeypatch.setenv("DJ_WORKERS_SCHEMA", schema_name)
    monkeypatch.setenv("DJ_WORKERS_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for name in ("DJ_WORKERS_SLEEP", "DJ_WORKERS_HOLD", "DJ_WORKERS_FAIL"):
        monkeypatch.delenv(name, raising=False)
    from tests.backend import workers_pipeline

    module = importlib.reload(workers_pipeline)
    yield Workers(module, db_url, tmp_path)
    module.schema.connection.close()


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- 1. exactly once, with a worker killed in the middle of a make --------------------------------


def test_exactly_once_when_a_worker_is_killed(workers: Workers, backend: str) -> None:
    keys = workers.fill(500)
    workers.Work.jobs.refresh()  # the queue exists before the workers race to use it
    held = 100
    started = time.monotonic()
    procs = [workers.start(f"w{i}", DJ_WORKERS_SLEEP="0.01", DJ_WORKERS_HOLD=str(held))
             for i in range(4)]
    try:
        pid = workers.wait_for_hold(held, procs)
        victim = next(p for p in procs if p.pid == pid)
        os.kill(pid, signal.SIGKILL)
        victim.wait()  # reaped: its pid is gone, so its reserved job counts as orphaned
        survivors = [p for p in procs if p is not victim]
        for proc in survivors:
            proc.wait(timeout=120)
    finally:
        _stop(procs)
    for i, proc in enumerate(procs):
        if proc is not victim:
            assert proc.returncode == 0, workers.output(f"w{i}")
    finish = workers.Work.populate(reserve_jobs=True)  # picks up anything still orphaned
    elapsed = time.monotonic() - started

    workers.assert_exactly_once(keys)
    attempts = workers.attempts()
    assert attempts[held] >= 2, attempts[held]  # killed once, then retried
    assert all(attempts[k] >= 1 for k in keys)
    assert set(attempts) == set(keys)
    progress = workers.Work.jobs.progress()
    assert progress["pending"] == progress["reserved"] == progress["error"] == 0, progress
    assert finish["error_list"] == []
    survivors = sum(int(workers.output(f"w{i}")[0].split(": ")[1].split()[0])
                    for i, p in enumerate(procs) if p is not victim)
    by_victim = len(workers.MakeCall & {"pid": pid})
    assert by_victim + survivors + finish["success_count"] == len(keys)
    print(f"{backend}: 500 keys, 4 workers, one killed: {elapsed:.1f} s; killed worker "
          f"committed {by_victim}, survivors {survivors}, finisher {finish['success_count']}")


# -- 5. SIGTERM during make: rolled back, job recorded as an error (DataJoint 2.x) ---------------


def test_sigterm_rolls_back_and_records_an_error_job(workers: Workers) -> None:
    keys = workers.fill(20)
    workers.Work.jobs.refresh()
    held = 5
    proc = workers.start("w", DJ_WORKERS_HOLD=str(held))
    try:
        pid = workers.wait_for_hold(held, [proc])
        assert pid == proc.pid
        # the make of the held key has inserted its rows (uncommitted) and sleeps
        os.kill(pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        _stop([proc])
    out, err = workers.output("w")
    assert code == 143, (out, err)
    assert "terminated" in err
    jobs = workers.Work.jobs
    assert len(jobs.reserved) == 0
    failed = jobs.errors & {"k": held}
    assert "SystemExit" in failed.fetch1("error_message")
    assert len(workers.Work & {"k": held}) == 0
    assert len(workers.MakeCall & {"k": held}) == 0
    assert len(workers.Work) == len(workers.MakeCall) == held  # keys before it committed
    result = workers.Work.populate(reserve_jobs=True)
    assert result["success_count"] == len(keys) - held - 1  # the error job waits for retry
    jobs.errors.retry()
    assert workers.Work.populate(reserve_jobs=True)["success_count"] == 1
    workers.assert_exactly_once(keys)
    assert workers.attempts()[held] == 2


# -- 2. populate(processes=N) ----------------------------------------------------------------------


def test_populate_processes(workers: Workers) -> None:
    keys = workers.fill(40)
    result = workers.Work.populate(processes=2)
    assert result == {"success_count": len(keys), "error_list": []}
    workers.assert_exactly_once(keys)
    assert workers.attempts() == Counter(keys)
    pids = {r["pid"] for r in workers.MakeCall.to_dicts()}
    assert os.getpid() not in pids


def test_populate_processes_needs_an_importable_class(schema: dj.Schema) -> None:
    @schema
    class Thing(dj.Manual):
        definition = """
        thing: int32
        """

    @schema
    class Local(dj.Computed):
        definition = """
        -> Thing
        ---
        value: float64
        """

        def make(self, key):
            self.insert1({**key, "value": 1.0})

    Thing.insert1({"thing": 1})
    with pytest.raises(dj.DataJointError, match="Define the table classes at the top level"):
        Local.populate(processes=2)
    with pytest.raises(dj.DataJointError, match="Define the table classes at the top level"):
        Local.populate(executor=concurrent.futures.ThreadPoolExecutor(1))
    assert len(Local) == 0
    assert Local.populate() == {"success_count": 1, "error_list": []}  # in-process still works


# -- 3. executors ----------------------------------------------------------------------------------


def test_populate_with_a_process_pool(workers: Workers) -> None:
    keys = workers.fill(40)
    with concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")) as executor:
        result = workers.Work.populate(executor=executor)
    assert result == {"success_count": len(keys), "error_list": []}
    workers.assert_exactly_once(keys)
    assert workers.attempts() == Counter(keys)


def test_populate_with_dask(workers: Workers) -> None:
    distributed = pytest.importorskip("distributed")
    keys = workers.fill(40)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0", host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        result = workers.Work.populate(executor=client.get_executor())
        worker_pids = set(client.run(os.getpid).values())
    assert result == {"success_count": len(keys), "error_list": []}
    workers.assert_exactly_once(keys)
    assert workers.attempts() == Counter(keys)
    assert {r["pid"] for r in workers.MakeCall.to_dicts()} <= worker_pids


# -- 4. the CLI ------------------------------------------------------------------------------------


def _cli(workers: Workers, *args: str, **extra: str) -> subprocess.CompletedProcess:
    assert CLI.exists(), "the dj-jupyter console script is missing: pip install -e ."
    return subprocess.run([str(CLI), "populate", *args], env=workers.env(**extra), cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_populates(workers: Workers) -> None:
    keys = workers.fill(12)
    done = _cli(workers, TARGET, "--reserve-jobs", "--url", workers.url)
    assert done.returncode == 0, done.stderr
    assert f"{TARGET}: 12 computed, 0 failed" in done.stdout
    workers.assert_exactly_once(keys)
    again = _cli(workers, TARGET, "--reserve-jobs", "--url", workers.url)
    assert again.returncode == 0, again.stderr
    assert f"{TARGET}: 0 computed" in again.stdout


@pytest.mark.parametrize("target, message", [
    ("tests.backend.workers_pipeline:Nope", "has no 'Nope'"),
    ("tests.backend.no_such_module:Work", "cannot import"),
    ("tests.backend.workers_pipeline", "package.module:ClassName"),
    ("tests.backend.workers_pipeline:Key", "not an auto-populated table"),
])
def test_cli_bad_class_path(workers: Workers, target: str, message: str) -> None:
    done = _cli(workers, target, "--reserve-jobs", "--url", workers.url)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_make_errors(workers: Workers) -> None:
    keys = workers.fill(10)
    stopped = _cli(workers, TARGET, "--reserve-jobs", "--url", workers.url,
                   DJ_WORKERS_FAIL="3,7")
    assert stopped.returncode == 1, (stopped.stdout, stopped.stderr)
    assert "ValueError: make refuses key 3" in stopped.stderr
    assert "{'k': 3}" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert len(workers.Work) == 3  # stopped at the first failure
    assert len(workers.Work.jobs.errors) == 1

    suppressed = _cli(workers, TARGET, "--reserve-jobs", "--suppress-errors", "--url",
                      workers.url, DJ_WORKERS_FAIL="3,7")
    assert suppressed.returncode == 1, (suppressed.stdout, suppressed.stderr)
    assert f"{TARGET}: 5 computed, 1 failed" in suppressed.stdout  # 3 stays an error
    assert "{'k': 7}" in suppressed.stderr and "make refuses key 7" in suppressed.stderr
    assert sorted(r["k"] for r in workers.Work.jobs.errors.to_dicts()) == [3, 7]
    assert sorted(r["k"] for r in workers.Work.to_dicts()) == [k for k in keys if k not in (3, 7)]
